// Package dnsname checks the names the components take from config: DNS
// names (Route 53 records, Istio and ingress hosts) and RFC 1123 labels
// (Kubernetes namespaces and service accounts), one definition for the
// DNS, mesh and service components.
package dnsname

import (
	"regexp"
	"strings"
)

var (
	namePattern  = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,}$`)
	labelPattern = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
)

// Valid tells whether s is a DNS name: lowercase labels and a letter TLD.
func Valid(s string) bool { return namePattern.MatchString(s) }

// Host tells whether h is a DNS name or a wildcard "*.name", as an Istio
// Gateway or an ingress serves.
func Host(h string) bool { return Valid(strings.TrimPrefix(h, "*.")) }

// Label tells whether s is an RFC 1123 label (a namespace, a service account).
func Label(s string) bool { return labelPattern.MatchString(s) }
