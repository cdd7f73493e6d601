"""evbill's benchmark suite: the throughput figures the rating engine and the batch command must reach.

Run it from the repository root with ``make bench`` (or ``.venv/bin/python -m bench``); ``--quick``
takes short rounds and a smaller batch for a smoke test. Everything runs pinned to one CPU.

* ``rating/simple`` — in-process, >= 50,000 CDRs/s: start fee + energy + parking tariff, 1–3 periods.
* ``rating/hourly`` — in-process, >= 10,000 CDRs/s: 48-element hourly tariff, 24 periods.
* ``batch/evbill-rate`` — ``evbill rate --cdrs`` prices 100,000 CDRs from JSONL in under 10 s.
* ``api`` — ``evbill serve --workers 2`` on PostgreSQL with 1,000,000 sessions answers list and filter
  requests in < 50 ms p99 at 200 requests/s, open loop (``bench.api``; needs PostgreSQL, uses every
  CPU, keeps its data set in schema ``evbill_bench`` between runs; ``--fresh`` reloads it).

Each benchmark prints one line and writes ``bench/results/<name>.json``; a summary table ends the
run and the exit status is 1 if any target was missed. Data is generated from fixed seeds
(``bench.data``), so every run prices the same sessions.
"""
