package providercheck

import (
	"encoding/json"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// caseInsensitive lists the enum properties the provider compares without
// regard to case (validation.StringInSlice(…, true) or
// enum.ValidateIgnoreCase), read from hashicorp/terraform-provider-aws at
// 1a5174b137bbdefdebd6e5c2fc033f829057e283, the tree the constraints come
// from; the extracted data keeps the values but not this flag.
var caseInsensitive = map[string]map[string]bool{
	// internal/service/cloudwatch/metric_alarm.go
	"aws:cloudwatch/metricAlarm:MetricAlarm": {"evaluateLowSampleCountPercentiles": true, "treatMissingData": true},
	// internal/service/elasticache/replication_group.go
	"aws:elasticache/replicationGroup:ReplicationGroup": {"authTokenUpdateStrategy": true, "engine": true},
	// internal/service/mq/broker.go
	"aws:mq/broker:Broker": {"authenticationStrategy": true, "deploymentMode": true, "engineType": true,
		"maintenanceWindowStartTime.dayOfWeek": true, "storageType": true},
	// internal/service/route53/health_check.go
	"aws:route53/healthCheck:HealthCheck": {"insufficientDataHealthStatus": true, "type": true},
}

// indexes strips list indexes from a concrete path: rules[0].x -> rules.x.
var indexes = regexp.MustCompile(`\[[0-9]+\]`)

func ignoreCase(typ, path string) bool {
	return caseInsensitive[typ][indexes.ReplaceAllString(path, "")]
}

// Window formats of internal/types/timestamp in the provider: an empty
// value passes, days are compared in lower case.
var (
	dailyWindow  = regexp.MustCompile(`^(([01][0-9]|2[0-3]):[0-5][0-9]-([01][0-9]|2[0-3]):[0-5][0-9]|)$`)
	weeklyWindow = regexp.MustCompile(`^((sun|mon|tue|wed|thu|fri|sat):([01][0-9]|2[0-3]):[0-5][0-9]-` +
		`(sun|mon|tue|wed|thu|fri|sat):([01][0-9]|2[0-3]):[0-5][0-9]|)$`)
	accountID = regexp.MustCompile(`^[0-9]{12}$`)
)

// validatorRule names a validator in a failure: its function name.
func validatorRule(name string) string {
	if i := strings.IndexAny(name, "(:"); i > 0 {
		return name[:i]
	}
	return name
}

// validate runs the validators whose meaning is exact; the others (regexes
// the extraction kept only as source text) are not modelled and pass.
func validate(name string, v resource.PropertyValue) string {
	switch {
	case strings.HasPrefix(name, "int-in:"):
		if !v.IsNumber() {
			return ""
		}
		for _, s := range strings.Split(strings.TrimPrefix(name, "int-in:"), ",") {
			if n, err := strconv.ParseFloat(s, 64); err == nil && n == v.NumberValue() {
				return ""
			}
		}
		return fmt.Sprintf("%v is not one of %s", v.NumberValue(), strings.TrimPrefix(name, "int-in:"))
	case strings.HasPrefix(name, "float-between:"):
		lo, hi, _ := strings.Cut(strings.TrimPrefix(name, "float-between:"), ",")
		l, err1 := strconv.ParseFloat(lo, 64)
		h, err2 := strconv.ParseFloat(hi, 64)
		if v.IsNumber() && err1 == nil && err2 == nil && (v.NumberValue() < l || v.NumberValue() > h) {
			return fmt.Sprintf("%v is outside %s..%s", v.NumberValue(), lo, hi)
		}
		return ""
	}
	if !v.IsString() {
		if name == "validation.NoZeroValues" && v.IsNumber() && v.NumberValue() == 0 {
			return "must not be zero"
		}
		return ""
	}
	s := v.StringValue()
	switch name {
	case "verify.ValidARN":
		if s != "" && !validARN(s) {
			return fmt.Sprintf("%q is not a valid ARN", s)
		}
	case "validation.StringIsJSON":
		if !json.Valid([]byte(s)) {
			return fmt.Sprintf("%q is not valid JSON", abbreviate(s))
		}
	case "verify.ValidIAMPolicyJSON":
		t := strings.TrimSpace(s)
		switch {
		case t == "":
			return "an empty string is not a policy document"
		case s[0] != '{':
			return "a policy document must be a JSON object with no leading space"
		case !json.Valid([]byte(s)):
			return fmt.Sprintf("%q is not valid JSON", abbreviate(s))
		}
	case "validation.StringIsNotEmpty", "validation.NoZeroValues":
		if s == "" {
			return "must not be empty"
		}
	case "verify.ValidOnceADayWindowFormat":
		if !dailyWindow.MatchString(s) {
			return fmt.Sprintf("%q is not a daily window hh24:mi-hh24:mi", s)
		}
	case "verify.ValidOnceAWeekWindowFormat":
		if !weeklyWindow.MatchString(strings.ToLower(s)) {
			return fmt.Sprintf("%q is not a weekly window ddd:hh24:mi-ddd:hh24:mi", s)
		}
	case "verify.ValidIPv4CIDRNetworkAddress":
		ip, n, err := net.ParseCIDR(s)
		if err != nil || ip.To4() == nil || !ip.Equal(n.IP) {
			return fmt.Sprintf("%q is not an IPv4 network address in CIDR form", s)
		}
	case "verify.ValidAccountID":
		if !accountID.MatchString(s) {
			return fmt.Sprintf("%q is not a 12-digit account id", s)
		}
	}
	return ""
}

// validARN: arn:partition:service:region:account:resource, with a partition,
// a service and a resource part.
func validARN(s string) bool {
	parts := strings.SplitN(s, ":", 6)
	return len(parts) == 6 && parts[0] == "arn" && strings.HasPrefix(parts[1], "aws") && parts[2] != "" && parts[5] != ""
}

func abbreviate(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
