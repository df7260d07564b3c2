package health

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// collector puts what the health pages show into /metrics, so an operator's Prometheus sees
// the same: each overview node's status and the numeric figures of its last check.
type collector struct{ h *handlers }

var (
	descStatus = prometheus.NewDesc("mipo_health_component_up", "1 when the component's last check or report is good and recent, 0 otherwise.",
		[]string{"component", "status"}, nil)
	descChecked = prometheus.NewDesc("mipo_health_component_checked_timestamp_seconds", "When the component was last checked or reported.",
		[]string{"component"}, nil)
	descFigure = prometheus.NewDesc("mipo_health_probe_value", "A numeric figure of a component's last probe (latency_ms, size_mb, row_estimate, days_left, …).",
		[]string{"component", "figure"}, nil)
)

func (c collector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descStatus
	ch <- descChecked
	ch <- descFigure
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for _, n := range c.h.overview(ctx).Nodes {
		up := 0.0
		if n.Status == StatusOK {
			up = 1
		}
		ch <- prometheus.MustNewConstMetric(descStatus, prometheus.GaugeValue, up, n.ID, n.Status)
		if !n.CheckedAt.IsZero() {
			ch <- prometheus.MustNewConstMetric(descChecked, prometheus.GaugeValue, float64(n.CheckedAt.Unix()), n.ID)
		}
	}
	for _, p := range c.h.probes.Probes() {
		for k, v := range p.Detail {
			if f, ok := v.(float64); ok {
				ch <- prometheus.MustNewConstMetric(descFigure, prometheus.GaugeValue, f, p.Component, k)
			}
		}
	}
}

var _ prometheus.Collector = collector{}
