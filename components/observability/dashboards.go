package observability

import "encoding/json"

// Grafana dashboards, provisioned as ConfigMaps that Grafana's dashboard
// sidecar (kube-prometheus-stack) loads: every ConfigMap with the label
// DashboardLabel=1, in any namespace.

// DashboardLabel marks a ConfigMap as a Grafana dashboard.
const DashboardLabel = "grafana_dashboard"

// Dashboard is the part of Grafana's dashboard model we write.
type Dashboard struct {
	UID           string     `json:"uid"`
	Title         string     `json:"title"`
	Tags          []string   `json:"tags"`
	Editable      bool       `json:"editable"`
	SchemaVersion int        `json:"schemaVersion"`
	Refresh       string     `json:"refresh"`
	Time          TimeRange  `json:"time"`
	Templating    Templating `json:"templating"`
	Panels        []Panel    `json:"panels"`
}

// TimeRange is the default range shown.
type TimeRange struct {
	From string `json:"from"`
	To   string `json:"to"`
}

// Templating holds the dashboard variables.
type Templating struct {
	List []Variable `json:"list"`
}

// Variable is a dashboard variable: the Prometheus datasource, or a label's values.
type Variable struct {
	Name       string      `json:"name"`
	Label      string      `json:"label"`
	Type       string      `json:"type"`
	Query      string      `json:"query"`
	Datasource *Datasource `json:"datasource,omitempty"`
	Multi      bool        `json:"multi,omitempty"`
	IncludeAll bool        `json:"includeAll,omitempty"`
	Refresh    int         `json:"refresh,omitempty"`
}

// Datasource refers to a datasource by type and uid (a variable here).
type Datasource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

// Panel is one visualisation.
type Panel struct {
	ID          int         `json:"id"`
	Type        string      `json:"type"`
	Title       string      `json:"title"`
	GridPos     GridPos     `json:"gridPos"`
	Datasource  Datasource  `json:"datasource"`
	Targets     []Target    `json:"targets"`
	FieldConfig FieldConfig `json:"fieldConfig"`
}

// GridPos places a panel on the 24-column grid.
type GridPos struct {
	X int `json:"x"`
	Y int `json:"y"`
	W int `json:"w"`
	H int `json:"h"`
}

// Target is one PromQL query of a panel.
type Target struct {
	RefID        string     `json:"refId"`
	Expr         string     `json:"expr"`
	LegendFormat string     `json:"legendFormat"`
	Datasource   Datasource `json:"datasource"`
}

// FieldConfig sets the unit of a panel's values.
type FieldConfig struct {
	Defaults FieldDefaults `json:"defaults"`
}

// FieldDefaults holds the unit.
type FieldDefaults struct {
	Unit string `json:"unit"`
}

var prometheusDS = Datasource{Type: "prometheus", UID: "${datasource}"}

// query is a panel's query with its legend.
type query struct{ expr, legend string }

// panelSpec is a panel before layout.
type panelSpec struct {
	kind, title, unit string
	queries           []query
}

// newDashboard lays the panels out two per row, 12 columns by 8 rows each.
func newDashboard(uid, title string, panels []panelSpec) Dashboard {
	d := Dashboard{UID: uid, Title: title, Tags: []string{"eduai", "deployment"}, Editable: false,
		SchemaVersion: 39, Refresh: "30s", Time: TimeRange{From: "now-6h", To: "now"},
		Templating: Templating{List: []Variable{
			{Name: "datasource", Label: "Data source", Type: "datasource", Query: "prometheus"},
		}}}
	for i, p := range panels {
		panel := Panel{ID: i + 1, Type: p.kind, Title: p.title, Datasource: prometheusDS,
			GridPos:     GridPos{X: (i % 2) * 12, Y: (i / 2) * 8, W: 12, H: 8},
			FieldConfig: FieldConfig{Defaults: FieldDefaults{Unit: p.unit}}}
		for j, q := range p.queries {
			panel.Targets = append(panel.Targets, Target{RefID: string(rune('A' + j)), Expr: q.expr,
				LegendFormat: q.legend, Datasource: prometheusDS})
		}
		d.Panels = append(d.Panels, panel)
	}
	return d
}

// Dashboards are the deployment dashboards of the seed, for the services in ns.
func Dashboards(ns string) []Dashboard {
	inNS := `namespace="` + ns + `"`
	sel := func(metric string) string { return metric + "{" + inNS + "}" }
	return []Dashboard{
		newDashboard("eduai-deployment-status", "EduAI / Deployment status", []panelSpec{
			{"timeseries", "Updated vs desired replicas", "short", []query{
				{sel("kube_deployment_status_replicas_updated"), "{{deployment}} updated"},
				{sel("kube_deployment_spec_replicas"), "{{deployment}} desired"}}},
			{"stat", "Deployments rolling out", "short", []query{
				{"count(" + sel("kube_deployment_status_replicas_updated") + " < on (namespace, deployment) " +
					sel("kube_deployment_spec_replicas") + ") or vector(0)", "rolling out"}}},
			{"table", "Failed deployments (progress deadline exceeded)", "short", []query{
				{`kube_deployment_status_condition{` + inNS + `, condition="Progressing", status="false"} == 1`,
					"{{deployment}}"}}},
			{"timeseries", "Rollbacks (deployment generation changes)", "short", []query{
				{"changes(" + sel("kube_deployment_metadata_generation") + "[1h])", "{{deployment}}"}}},
		}),
		newDashboard("eduai-service-health", "EduAI / Service health during deployment", []panelSpec{
			{"timeseries", "Available replicas", "short", []query{
				{sel("kube_deployment_status_replicas_available"), "{{deployment}}"}}},
			{"timeseries", "Unavailable replicas", "short", []query{
				{sel("kube_deployment_status_replicas_unavailable"), "{{deployment}}"}}},
			{"timeseries", "Container restarts (15m)", "short", []query{
				{"sum by (container) (increase(" + sel("kube_pod_container_status_restarts_total") + "[15m]))",
					"{{container}}"}}},
			{"timeseries", "Request rate by service", "reqps", []query{
				{"sum by (service) (rate(http_requests_total[5m]))", "{{service}}"}}},
		}),
		newDashboard("eduai-errors-latency", "EduAI / Error rate and response time", []panelSpec{
			{"timeseries", "5xx ratio by service", "percentunit", []query{{errorRatio, "{{service}}"}}},
			{"timeseries", "p95 latency by service", "s", []query{
				{p95("5m", ""), "{{service}} now"}, {p95("1h", "1h"), "{{service}} baseline (1h ago)"}}},
			{"timeseries", "p50 latency by service", "s", []query{
				{"histogram_quantile(0.5, sum by (le, service) (rate(http_request_duration_seconds_bucket[5m])))",
					"{{service}}"}}},
			{"timeseries", "Mesh 5xx ratio by destination (Istio)", "percentunit", []query{
				{`sum by (destination_service_name) (rate(istio_requests_total{response_code=~"5.."}[5m]))` +
					" / sum by (destination_service_name) (rate(istio_requests_total[5m]))", "{{destination_service_name}}"}}},
		}),
		newDashboard("eduai-resources", "EduAI / Resource utilization", []panelSpec{
			{"timeseries", "CPU by container", "short", []query{
				{`sum by (container) (rate(container_cpu_usage_seconds_total{` + inNS + `, container!=""}[5m]))`,
					"{{container}}"}}},
			{"timeseries", "CPU use / request", "percentunit", []query{
				{`sum by (container) (rate(container_cpu_usage_seconds_total{` + inNS + `, container!=""}[5m]))` +
					` / sum by (container) (kube_pod_container_resource_requests{` + inNS + `, resource="cpu"})`,
					"{{container}}"}}},
			{"timeseries", "Memory working set by container", "bytes", []query{
				{`sum by (container) (container_memory_working_set_bytes{` + inNS + `, container!=""})`,
					"{{container}}"}}},
			{"timeseries", "Memory use / limit", "percentunit", []query{
				{`sum by (container) (container_memory_working_set_bytes{` + inNS + `, container!=""})` +
					` / sum by (container) (kube_pod_container_resource_limits{` + inNS + `, resource="memory"})`,
					"{{container}}"}}},
		}),
	}
}

// JSON renders the dashboard as Grafana reads it.
func (d Dashboard) JSON() string {
	data, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		panic(err) // plain structs of strings and ints always marshal
	}
	return string(data)
}
