"""Use cases of analytics: reports, heatmaps, tariff backtests, energy costs and margin."""
