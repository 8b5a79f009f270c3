package reference

import (
	"fmt"
	"strconv"
	"strings"

	dto "github.com/prometheus/client_model/go"
)

// MetricTable renders metric families, as a registry gathers them, as a Markdown table: name, type, labels and
// help, with the buckets of a histogram. Each family needs one series, which carries its label names.
func MetricTable(families []*dto.MetricFamily) string {
	var b strings.Builder
	b.WriteString("| metric | type | labels | description |\n|---|---|---|---|\n")
	for _, family := range families {
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", family.GetName(), strings.ToLower(family.GetType().String()),
			labelNames(family), cell(family.GetHelp()+buckets(family)))
	}
	return b.String()
}

// labelNames lists the labels of the family's first series, in the order the registry sorts them.
func labelNames(family *dto.MetricFamily) string {
	if len(family.GetMetric()) == 0 {
		return ""
	}
	var names []string
	for _, label := range family.GetMetric()[0].GetLabel() {
		names = append(names, "`"+label.GetName()+"`")
	}
	return strings.Join(names, ", ")
}

// buckets lists a histogram's bucket bounds, which decide how precise a quantile computed from it can be.
func buckets(family *dto.MetricFamily) string {
	if family.GetType() != dto.MetricType_HISTOGRAM || len(family.GetMetric()) == 0 {
		return ""
	}
	var bounds []string
	for _, bucket := range family.GetMetric()[0].GetHistogram().GetBucket() {
		bounds = append(bounds, strconv.FormatFloat(bucket.GetUpperBound(), 'g', -1, 64))
	}
	return " Buckets: " + strings.Join(bounds, ", ") + "."
}
