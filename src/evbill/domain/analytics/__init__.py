"""Analytics: what the network did and earned, from evbill's own exact records.

``facts`` is one finished session as reports see it; ``reports`` groups facts and sums them exactly;
``heatmap`` spreads occupancy over local hour x weekday (DST-correct); ``backtest`` compares billed
revenue with a re-rating under a candidate tariff; ``costs`` prices the energy bought and the margin.
Everything here is pure: facts come in, figures go out.
"""
