package stacks

import (
	"strings"
	"testing"

	"github.com/eduai/infra/components/addons"
	"github.com/eduai/infra/components/enum"
	"github.com/eduai/infra/components/mesh"
	"github.com/eduai/infra/components/network"
	"github.com/eduai/infra/components/observability"
	"github.com/eduai/infra/components/queue"
	"github.com/eduai/infra/components/service"
)

// Every enumeration of the config is a component's type, and its error lists
// the values from the type's own list (issue #21): a value added to the type
// is accepted and named in the message without another edit here.
func TestEnumErrorsListTheTypesValues(t *testing.T) {
	cases := []struct {
		path, values string
		set          func(c *Config)
	}{
		{"network.natStrategy", enum.Describe(network.NATStrategies), func(c *Config) { c.Network.NATStrategy = "bogus" }},
		{"network.flowLogs.trafficType", enum.Describe(network.TrafficTypes),
			func(c *Config) { c.Network.FlowLogs.TrafficType = "bogus" }},
		{"addons.issuer.kind", enum.Describe(addons.IssuerKinds), func(c *Config) { c.Addons.Issuer.Kind = "bogus" }},
		{"mesh.mtls", enum.Describe(mesh.MTLSModes), func(c *Config) { c.Mesh.MTLS = "bogus" }},
		{"observability.mode", enum.Describe(observability.Modes), func(c *Config) { c.Observability.Mode = "bogus" }},
		{"queue.engine", enum.Describe(queue.Engines), func(c *Config) { c.Queue.Engine = "bogus" }},
		{"dr.activeRegion", enum.Describe(RegionRoles), func(c *Config) { c.DR.ActiveRegion = "bogus" }},
		{"services.content-service.strategy", enum.Describe(service.Strategies), func(c *Config) {
			s := c.Services["content-service"]
			s.Strategy = "bogus"
			c.Services["content-service"] = s
		}},
		{"services.media-service.blueGreen.activeColor", enum.Describe(service.Colors), func(c *Config) {
			s := c.Services["media-service"]
			s.BlueGreen.ActiveColor = "bogus"
			c.Services["media-service"] = s
		}},
	}
	for _, c := range cases {
		cfg, err := load(t, "prod", "../Pulumi.prod.yaml")
		if err != nil {
			t.Fatal(err)
		}
		c.set(cfg)
		err = cfg.validate()
		want := c.path + ": must be one of " + c.values + ` (got "bogus")`
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: want %q in\n%v", c.path, want, err)
		}
	}
}
