-- +goose Up
-- The fleet health page's sparklines, summarised: each heartbeat is folded, in its own
-- transaction, into its 5-minute, hourly, 6-hourly and daily bucket (step, in seconds; at, the
-- bucket's start, aligned to the Unix epoch). A bucket keeps the count, and per metric the
-- minimum, the sum (average = sum / count) and the maximum, so buckets merge exactly. The page
-- reads, for any window, the one step that gives it at most 60 points per scanner, instead of
-- aggregating raw heartbeats. The prune-history job keeps 5-minute buckets 2 days, hourly ones
-- 30 days, 6-hourly and daily ones a year.
-- Network rates and open file descriptors can be missing from a heartbeat: they keep their own
-- counts (net_rx_n, net_tx_n, fd_n), and their averages are over those.
CREATE TABLE scanner_metric_buckets (
    scanner_id      uuid             NOT NULL REFERENCES scanners (id),
    step            integer          NOT NULL CHECK (step IN (300, 3600, 21600, 86400)),
    at              timestamptz      NOT NULL,
    heartbeats      integer          NOT NULL,
    load1_min       double precision NOT NULL,
    load1_sum       double precision NOT NULL,
    load1_max       double precision NOT NULL,
    cpu_min         double precision NOT NULL,
    cpu_sum         double precision NOT NULL,
    cpu_max         double precision NOT NULL,
    mem_used_min    double precision NOT NULL,
    mem_used_sum    double precision NOT NULL,
    mem_used_max    double precision NOT NULL,
    mem_total_sum   double precision NOT NULL,
    net_rx_n        integer          NOT NULL,
    net_rx_min      double precision,
    net_rx_sum      double precision NOT NULL,
    net_rx_max      double precision,
    net_tx_n        integer          NOT NULL,
    net_tx_min      double precision,
    net_tx_sum      double precision NOT NULL,
    net_tx_max      double precision,
    active_jobs_max integer          NOT NULL,
    fd_n            integer          NOT NULL,
    fd_open_sum     double precision NOT NULL,
    fd_limit_max    integer,
    PRIMARY KEY (scanner_id, step, at)
);
-- The page reads one step over a time range for every scanner; pruning deletes by step and age.
CREATE INDEX scanner_metric_buckets_step_at ON scanner_metric_buckets (step, at);

-- The history kept so far, summarised.
INSERT INTO scanner_metric_buckets
SELECT h.scanner_id, s.step, to_timestamp(floor(extract(epoch FROM h.at) / s.step) * s.step) AS b, count(*),
    min(load1), sum(load1), max(load1), min(cpu_percent), sum(cpu_percent), max(cpu_percent),
    min(mem_used_bytes), sum(mem_used_bytes), max(mem_used_bytes), sum(mem_total_bytes),
    count(net_rx_rate), min(net_rx_rate), COALESCE(sum(net_rx_rate), 0), max(net_rx_rate),
    count(net_tx_rate), min(net_tx_rate), COALESCE(sum(net_tx_rate), 0), max(net_tx_rate),
    max(active_jobs), count(fd_open), COALESCE(sum(fd_open), 0), max(fd_limit)
FROM scanner_heartbeats h, (VALUES (300), (3600), (21600), (86400)) AS s (step)
GROUP BY h.scanner_id, s.step, b;

-- +goose Down
DROP TABLE scanner_metric_buckets;
