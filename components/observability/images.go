package observability

import (
	"strconv"
	"strings"
)

// FluentBitImage is the aws-for-fluent-bit image the chart runs. EKS Pod
// Identity (how Fluent Bit gets its CloudWatch Logs role here) arrived in
// 2.32.5 (aws/aws-for-fluent-bit PR #888, "Release 2.32.5", closing issue
// #784); chart 0.1.35 defaults to 2.32.2.20240516, which would find no
// credentials and ship no logs. So the tag is pinned, whatever the chart's default.
const FluentBitImage = "2.32.5"

// chartImages is the image tag each chart version runs when the values do
// not set one (image.tag in the chart's values.yaml at that version:
// aws/eks-charts stable/aws-for-fluent-bit, 0.1.35 at 2942cdc^, 0.2.0 at 2942cdc).
var chartImages = map[Chart]map[string]string{
	FluentBit: {"0.1.35": "2.32.2.20240516", "0.2.0": "3.2.1"},
}

// MinimumImage is the oldest image of a chart that has a mechanism the
// program relies on, and the mechanism.
type MinimumImage struct {
	Version, Needs string
}

// MinimumImages: per chart, the image that brought what the program uses.
var MinimumImages = map[Chart]MinimumImage{
	FluentBit: {Version: "2.32.5", Needs: "the EKS Pod Identity credential provider (aws/aws-for-fluent-bit PR #888)"},
}

// EffectiveImage is the image tag a release of chart at version runs: the
// values' image.tag, else the chart's default ("" when neither is known).
func EffectiveImage(chart Chart, version string, values map[string]any) string {
	if image, ok := values["image"].(map[string]any); ok {
		if tag, ok := image["tag"].(string); ok && tag != "" {
			return tag
		}
	}
	return chartImages[chart][version]
}

// OlderImage tells whether image tag a is older than b, comparing the
// dotted numbers in order (2.32.2.20240516 < 2.32.5 < 3.2.1).
func OlderImage(a, b string) bool {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(as) && i < len(bs); i++ {
		x, errX := strconv.Atoi(as[i])
		y, errY := strconv.Atoi(bs[i])
		if errX != nil || errY != nil {
			return as[i] < bs[i]
		}
		if x != y {
			return x < y
		}
	}
	return len(as) < len(bs)
}
