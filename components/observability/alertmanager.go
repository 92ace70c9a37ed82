package observability

import (
	"regexp"
	"sort"
	"strings"

	"github.com/eduai/infra/components/enum"
	"github.com/eduai/infra/components/field"
)

// ReceiverType is how Alertmanager notifies a receiver.
type ReceiverType string

const (
	Slack     ReceiverType = "slack"
	PagerDuty ReceiverType = "pagerduty"
	Webhook   ReceiverType = "webhook"
)

// ReceiverTypes lists the supported types.
var ReceiverTypes = []ReceiverType{Slack, PagerDuty, Webhook}

// Receiver is one notification target. Its Credential (Slack incoming-webhook
// URL, PagerDuty routing key, webhook URL) is a secret: it goes into the
// Kubernetes Secret ReceiversSecret, which Alertmanager mounts, and the
// Alertmanager config refers to the mounted file; it never enters Helm values.
type Receiver struct {
	Name       string
	Type       ReceiverType
	Channel    string // Slack channel, "#name"
	Credential string
}

// AlertingArgs routes alerts by severity.
type AlertingArgs struct {
	Receivers []Receiver
	// Critical and Warning name the receivers for each severity; empty: no notification.
	Critical, Warning string
}

// ReceiversSecret is the Secret holding the receivers' credentials.
const ReceiversSecret = "alertmanager-receivers"

// secretsDir is where the Prometheus operator mounts alertmanagerSpec.secrets.
const secretsDir = "/etc/alertmanager/secrets/"

// nullReceiver takes whatever has no route: no notification.
const nullReceiver = "null"

var receiverNamePattern = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)

// ValidReceiverName tells whether n can name a receiver (and a Secret key).
func ValidReceiverName(n string) bool { return receiverNamePattern.MatchString(n) && n != nullReceiver }

func (a AlertingArgs) validate(errs *field.List) {
	names := map[string]bool{}
	for _, r := range a.Receivers {
		at := "Alerting.Receivers[" + r.Name + "]"
		if !ValidReceiverName(r.Name) {
			errs.Add(field.Format, at, nil, "receiver names are lowercase letters, digits and dashes, not \"null\"")
		}
		if names[r.Name] {
			errs.Add(field.Conflict, at, nil, "names a receiver twice")
		}
		names[r.Name] = true
		if !enum.Valid(r.Type, ReceiverTypes) {
			errs.Add(field.Enum, at+".Type", string(r.Type), "must be one of %s", enum.Describe(ReceiverTypes))
		}
		if r.Type == Slack && !strings.HasPrefix(r.Channel, "#") {
			errs.Add(field.Format, at+".Channel", r.Channel, "a slack receiver needs a channel like #alerts")
		}
		if r.Credential == "" {
			errs.Add(field.Required, at+".Credential", nil, "is required (the webhook URL or routing key)")
		}
	}
	for _, route := range []struct{ field, name string }{{"Critical", a.Critical}, {"Warning", a.Warning}} {
		if route.name != "" && !names[route.name] {
			errs.Add(field.Conflict, "Alerting."+route.field, route.name, "names no receiver in the receivers")
		}
	}
}

// AlertmanagerConfig is Alertmanager's configuration: critical and warning
// alerts to their receivers, everything else (the chart's Watchdog) to no
// one, and a firing critical alert silences the warning of the same
// service or deployment.
func AlertmanagerConfig(a AlertingArgs) map[string]any {
	receivers := []any{map[string]any{"name": nullReceiver}}
	rs := append([]Receiver(nil), a.Receivers...)
	sort.Slice(rs, func(i, j int) bool { return rs[i].Name < rs[j].Name })
	for _, r := range rs {
		file := secretsDir + ReceiversSecret + "/" + r.Name
		rc := map[string]any{"name": r.Name}
		switch r.Type {
		case Slack:
			rc["slack_configs"] = []any{map[string]any{"api_url_file": file, "channel": r.Channel, "send_resolved": true,
				"title": `[{{ .Status | toUpper }}] {{ .CommonLabels.alertname }}`,
				"text":  `{{ range .Alerts }}{{ .Annotations.summary }}: {{ .Annotations.description }}{{ "\n" }}{{ end }}`}}
		case PagerDuty:
			rc["pagerduty_configs"] = []any{map[string]any{"routing_key_file": file, "send_resolved": true}}
		case Webhook:
			rc["webhook_configs"] = []any{map[string]any{"url_file": file, "send_resolved": true}}
		}
		receivers = append(receivers, rc)
	}
	var routes []any
	for _, sr := range []struct{ severity, receiver, repeat string }{
		{Critical, a.Critical, "1h"}, {Warning, a.Warning, "4h"}} {
		if sr.receiver == "" {
			continue
		}
		routes = append(routes, map[string]any{"receiver": sr.receiver,
			"matchers": []any{`severity="` + sr.severity + `"`}, "repeat_interval": sr.repeat})
	}
	route := map[string]any{"receiver": nullReceiver, "group_by": []any{"alertname", "namespace", "service"},
		"group_wait": "30s", "group_interval": "5m", "repeat_interval": "4h"}
	if len(routes) > 0 {
		route["routes"] = routes
	}
	return map[string]any{
		"route":     route,
		"receivers": receivers,
		"inhibit_rules": []any{map[string]any{
			"source_matchers": []any{`severity="` + Critical + `"`},
			"target_matchers": []any{`severity="` + Warning + `"`},
			"equal":           []any{"namespace", "service", "deployment"},
		}},
	}
}
