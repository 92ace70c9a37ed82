package stacks

import (
	"fmt"
	"github.com/eduai/infra/components/enum"
	"github.com/eduai/infra/components/field"
	"maps"
	"net/netip"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/eduai/infra/components/addons"
	"github.com/eduai/infra/components/cache"
	"github.com/eduai/infra/components/database"
	"github.com/eduai/infra/components/dns"
	"github.com/eduai/infra/components/mesh"
	"github.com/eduai/infra/components/network"
	"github.com/eduai/infra/components/queue"
	"github.com/eduai/infra/components/runner"
)

var regionPattern = regexp.MustCompile(`^[a-z]{2}(-gov)?-[a-z]+-[0-9]+$`)

// validate checks what cannot be built or is malformed (exit 2). What can be
// built but is unsafe (flow logs off in prod, …) is the policy pack's verdict.
func (c *Config) validate() error {
	var errs Errors
	if !slices.Contains(Environments, c.Environment) {
		errs.add("eduai:environment", "must be one of dev, staging, prod (got %q; it defaults to the stack name)",
			c.Environment)
	}
	switch {
	case c.Region == "":
		errs.add("aws:region", "is required (for example us-west-2)")
	case !regionPattern.MatchString(c.Region):
		errs.add("aws:region", "%q is not an AWS region name like us-west-2", c.Region)
	}
	c.validateTags(&errs)
	c.validateNetwork(&errs)
	c.validateCluster(&errs)
	c.validateAddons(&errs)
	c.validateStorage(&errs)
	c.validateDatabase(&errs)
	c.validateCache(&errs)
	c.validateQueue(&errs)
	c.validateMesh(&errs)
	c.validateZone(&errs)
	c.validateObservability(&errs)
	c.validateServices(&errs)
	c.validateDR(&errs)
	c.validateBackup(&errs)
	c.validateGitOps(&errs)
	c.validateRunner(&errs)
	c.validateBootstrap(&errs)
	return errs.orNil()
}

func (c *Config) validateTags(errs *Errors) {
	for _, k := range slices.Sorted(maps.Keys(c.Tags)) {
		v := c.Tags[k]
		switch {
		case k == "" || len(k) > 128:
			errs.add("tags", "tag key %q must be 1..128 characters", k)
		case strings.HasPrefix(strings.ToLower(k), "aws:"):
			errs.add("tags."+k, "the aws: prefix is reserved by AWS")
		case len(v) > 256:
			errs.add("tags."+k, "value must be at most 256 characters (got %d)", len(v))
		}
	}
}

func (c *Config) validateNetwork(errs *Errors) {
	validateNetworkConfig(&c.Network, "network", c.Region, "the stack's region", "aws:region", errs)
}

// validateNetworkConfig checks one region's network; prefix is its key path.
func validateNetworkConfig(n *NetworkConfig, prefix, region, regionDesc, regionKey string, errs *Errors) {
	if n.AZCount != 0 && (n.AZCount < 2 || n.AZCount > network.MaxZones) {
		errs.add(prefix+".azCount", "must be 2..%d (got %d)", network.MaxZones, n.AZCount)
	}
	zones, key := n.AvailabilityZones, prefix+"."+n.zonesKey()
	explicit := len(zones) > 0 && !n.zonesDerived
	switch {
	case len(n.AvailabilityZoneIDs) > 0 && !n.zonesByID:
		errs.add(prefix+".availabilityZoneIds", "conflicts with %s.availabilityZones; list the zones one way", prefix)
	case explicit && (len(zones) < 2 || len(zones) > network.MaxZones):
		errs.add(key, "must list 2..%d zones (got %d)", network.MaxZones, len(zones))
	case explicit && n.AZCount != 0 && n.AZCount != len(zones):
		errs.add(prefix+".azCount", "%d conflicts with %s, which lists %d zones; set one of them",
			n.AZCount, key, len(zones))
	}
	seen := map[string]int{}
	for i, z := range zones {
		path := fmt.Sprintf("%s[%d]", key, i)
		zoneRegion, _, err := network.ZoneRegion(z)
		switch {
		case err != nil:
			errs.add(path, "%v", err)
		case network.IsZoneID(z) != n.zonesByID && n.zonesByID:
			errs.add(path, "%q is a zone name; %s lists zone IDs like use1-az1", z, key)
		case network.IsZoneID(z) != n.zonesByID:
			errs.add(path, "%q is a zone ID; list it in %s.availabilityZoneIds", z, prefix)
		case region != "" && zoneRegion != region:
			errs.add(path, "%q is not in %s %s (%s)", z, regionDesc, region, regionKey)
		}
		if j, dup := seen[z]; dup {
			errs.add(path, "%q is listed twice (also at [%d])", z, j)
		}
		seen[z] = i
	}

	// The network component's own rules: CIDR, NAT, flow logs, endpoints.
	errs.component(prefix, networkBindings, vpcArgs(*n, prefix, false).Validate())
}

// validateCluster: the cluster component's rules (its node groups' too), at
// eduai:cluster's keys.
func (c *Config) validateCluster(errs *Errors) {
	errs.component("cluster", clusterBindings, c.clusterArgs(nil).Validate())
}

// validateAddons: the add-ons component's rules (chart pins, the issuer),
// at eduai:addons's keys.
func (c *Config) validateAddons(errs *Errors) {
	errs.component("addons", addonsBindings, c.addonsArgs(nil, nil, nil).Validate())
}

// validateStorage: the buckets component's rules, at eduai:storage's keys.
func (c *Config) validateStorage(errs *Errors) {
	errs.component("storage", storageBindings, c.storageArgs().Validate())
}

// validateDatabase: the database component's rules, at eduai:database's keys.
func (c *Config) validateDatabase(errs *Errors) {
	errs.component("database", databaseBindings, c.databaseArgs(nil, database.Standalone).Validate())
}

// validateCache: the cache component's rules, at eduai:cache's keys; with
// DR the group is a Global Datastore's primary, which needs a node type and
// engine that can join one.
func (c *Config) validateCache(errs *Errors) {
	role := cache.Standalone
	if c.DR.Enabled {
		role = cache.Primary
	}
	errs.component("cache", cacheBindings, c.cacheArgs(nil, role).Validate())
}

// validateQueue: the queue component's rules at eduai:queue's keys, and
// MSK's refused zones in the networks (network and queue together).
func (c *Config) validateQueue(errs *Errors) {
	errs.component("queue", queueBindings, c.queueArgs(nil, c.Network, c.brokerCount()).Validate())
	if c.Queue.Engine != queue.Kafka {
		return
	}
	type regionNet struct {
		n              *NetworkConfig
		prefix, region string
	}
	nets := []regionNet{{&c.Network, "network", c.Region}}
	if c.DR.Enabled {
		nets = append(nets, regionNet{&c.DR.Network, "dr.network", c.DR.Region})
	}
	for _, net := range nets {
		for i, z := range net.n.AvailabilityZones {
			region, _, err := network.ZoneRegion(z)
			if err != nil || region != net.region {
				continue // reported with the network
			}
			path := fmt.Sprintf("%s.%s[%d]", net.prefix, net.n.zonesKey(), i)
			refused := queue.RefusedZoneIDs[region]
			switch {
			case slices.Contains(refused, z):
				errs.add(path, "MSK refuses brokers in %s (Amazon MSK developer guide); pick another zone ID", z)
			case !network.IsZoneID(z) && len(refused) > 0 && !net.n.zonesByID:
				errs.add(path, "%q is a zone name, and in %s names map to different zones per account while MSK "+
					"refuses %s: list %s.availabilityZoneIds instead", z, region, strings.Join(refused, ", "), net.prefix)
			}
		}
	}
}

var exactVersion = regexp.MustCompile(`^[0-9]+\.[0-9]+\.[0-9]+$`)

// validateMesh: the mesh component's rules, at eduai:mesh's keys.
func (c *Config) validateMesh(errs *Errors) {
	errs.component("mesh", meshBindings, c.meshArgs(nil, nil).Validate())
}

// validateObservability: the observability component's rules (its
// receivers' too), at eduai:observability's keys; the sampling rate the mesh
// takes; a receiver's credential must be a secret in the stack config.
func (c *Config) validateObservability(errs *Errors) {
	errs.component("observability", observabilityBindings, c.observabilityArgs(nil).Validate(),
		func(key string, e *field.Error) string {
			if e.Kind == field.Required && strings.HasSuffix(key, ".credential") {
				return "; set it with " + setSecret(key)
			}
			return ""
		})
	if p := c.Observability.TracingSamplingPercent; p < 0 || p > 100 {
		errs.add("observability.tracingSamplingPercent", "must be 0..100 (got %d)", p)
	}
	// Each credential on its own: a plain one beside a secret one (or beside
	// a secret unused field) is still plain. The value is not repeated.
	for _, name := range slices.Sorted(maps.Keys(c.Observability.Alerting.Receivers)) {
		key := "observability.alerting.receivers." + name + ".credential"
		if secret, sure := c.secretAt(key); c.Observability.Alerting.Receivers[name].Credential != "" && sure && !secret {
			errs.add(key, "is in plain text in the stack config; set it with %s", setSecret(key))
		}
	}
}

// setSecret is the command that sets a secret at a config key path.
func setSecret(key string) string {
	return "pulumi config set --secret --path '" + key + "' <value>"
}

// validateServices: each service component's rules, at its entry's keys;
// and what only the stack knows: its host among the mesh's, its
// connections and buckets, the blue-green deadline's format, the Rollouts
// controller.
func (c *Config) validateServices(errs *Errors) {
	if !exactVersion.MatchString(c.Rollouts.Version) {
		errs.add("rollouts.version", "must be an exact chart version like 2.41.1 (got %q)", c.Rollouts.Version)
	}
	if c.Rollouts.Replicas < 1 || c.Rollouts.Replicas > 5 {
		errs.add("rollouts.replicas", "must be 1..5 (got %d)", c.Rollouts.Replicas)
	}
	for _, name := range slices.Sorted(maps.Keys(c.Services)) {
		s, key := c.Services[name], "services."+name
		errs.component(key, serviceBindings, c.serviceValues(name).Validate())
		if in := s.Ingress; in != nil && mesh.ValidHost(in.Host) && c.Mesh.Enabled && !slices.Contains(c.Mesh.Hosts, in.Host) {
			errs.add(key+".ingress.host", "%q is not served by the mesh's gateway; add it to eduai:mesh.hosts", in.Host)
		}
		for i, conn := range s.Connections {
			if !slices.Contains(Connections, conn) {
				errs.add(fmt.Sprintf("%s.connections[%d]", key, i), "must be one of %s (got %q)",
					strings.Join(Connections, ", "), conn)
			}
		}
		for i, bucket := range s.Buckets {
			if _, ok := c.Storage.Buckets[bucket]; !ok {
				errs.add(fmt.Sprintf("%s.buckets[%d]", key, i), "%q is not a bucket of eduai:storage.buckets", bucket)
			}
		}
		if b := s.BlueGreen; b.KeepIdleUntil != "" {
			if _, err := time.Parse(time.RFC3339, b.KeepIdleUntil); err != nil {
				errs.add(key+".blueGreen.keepIdleUntil", "must be an RFC 3339 time like \"2026-11-28T12:00:00Z\" (got %q)",
					b.KeepIdleUntil)
			}
		}
	}
}

func (c *Config) validateDR(errs *Errors) {
	d := &c.DR
	oneOf(errs, "dr.activeRegion", d.ActiveRegion, RegionRoles)
	if !d.Enabled {
		if d.ActiveRegion == SecondaryRegion {
			errs.add("dr.activeRegion", "secondary needs eduai:dr.enabled: there is no secondary region to make active")
		}
		return
	}
	switch {
	case !regionPattern.MatchString(d.Region):
		errs.add("dr.region", "%q is not an AWS region name like us-east-1", d.Region)
	case d.Region == c.Region:
		errs.add("dr.region", "%s is the primary region (aws:region); the standby must be elsewhere", d.Region)
	}
	validateNetworkConfig(&d.Network, "dr.network", d.Region, "the DR region", "dr.region", errs)
	if d.DatabaseReaders < 0 || d.DatabaseReaders > 15 {
		errs.add("dr.databaseReaders", "must be 0..15 (got %d)", d.DatabaseReaders)
	}
	if n := d.Standby.NodesPerGroup; n < 0 || n > 10 {
		errs.add("dr.standby.nodesPerGroup", "must be 0..10 (got %d)", n)
	} else {
		for _, name := range slices.Sorted(maps.Keys(c.Cluster.NodeGroups)) {
			if g := c.Cluster.NodeGroups[name]; n > g.MaxSize {
				errs.add("dr.standby.nodesPerGroup", "%d exceeds cluster.nodeGroups.%s.maxSize (%d)", n, name, g.MaxSize)
			}
		}
	}
	if d.DNS != nil {
		c.validateDNS(d.DNS, errs)
	}
	errs.component("dr", topicBindings, c.topicArgs("").Validate())
	primary, err1 := netip.ParsePrefix(c.Network.CIDR)
	secondary, err2 := netip.ParsePrefix(d.Network.CIDR)
	if err1 == nil && err2 == nil && primary.Overlaps(secondary) {
		errs.add("dr.network.cidr", "%s overlaps the primary's network.cidr %s; peering and failover need distinct ranges",
			d.Network.CIDR, c.Network.CIDR)
	}
}

// validateZone checks eduai:dns and that every host the mesh serves can be
// given a record and a certificate in it.
func (c *Config) validateZone(errs *Errors) {
	z := c.DNS
	switch {
	case z.ZoneName != "":
		errs.component("dns", zoneBindings, c.zoneArgs().Validate())
	case z.ZoneID != "":
		errs.add("dns.zoneName", "is required with dns.zoneId (the issuer finds the zone by name)")
	}
	if !c.Mesh.Enabled || len(c.Mesh.Hosts) == 0 {
		return
	}
	if z.ZoneName == "" {
		if c.Addons.Issuer.Kind != addons.SelfSigned {
			errs.add("dns.zoneName", "is required with mesh.hosts and the %s issuer: the hosts get their records, and "+
				"Let's Encrypt's DNS-01 challenges are answered, in this Route 53 zone", c.Addons.Issuer.Kind)
		}
		return
	}
	for i, h := range c.Mesh.Hosts {
		if dns.ValidName(h) && !dns.InZone(h, z.ZoneName) {
			errs.add(fmt.Sprintf("mesh.hosts[%d]", i), "%q is not in the zone dns.zoneName %q: it could get no record "+
				"and no certificate", h, z.ZoneName)
		}
	}
}

func (c *Config) validateDNS(d *DNSConfig, errs *Errors) {
	zone := c.DNS.ZoneName
	if zone == "" {
		errs.add("dns.zoneName", "is required with dr.dns: the failover records go in that zone")
	} else if !dns.ValidName(d.RecordName) || !dns.InZone(d.RecordName, zone) {
		errs.add("dr.dns.recordName", "%q is not a name in the zone dns.zoneName %q", d.RecordName, zone)
	}
	if !c.Mesh.Enabled {
		errs.add("dr.dns", "needs eduai:mesh.enabled: the failover records point at the mesh's ingress load balancers")
	}
	for _, r := range []struct{ key, region string }{{"aws:region", c.Region}, {"dr.region", c.DR.Region}} {
		if _, ok := dns.NLBZoneID(r.region); !ok && regionPattern.MatchString(r.region) {
			errs.add("dr.dns", "%s %s: no known NLB hosted zone id to alias the failover records to", r.key, r.region)
		}
	}
	s, ok := c.Services[d.HealthService]
	switch {
	case d.HealthService == "":
		errs.add("dr.dns.healthService", "no service has ingress.host %q; name the service that answers /health", d.RecordName)
	case !ok:
		errs.add("dr.dns.healthService", "%q is not a key of eduai:services", d.HealthService)
	case s.Ingress == nil || s.Ingress.Host != d.RecordName:
		errs.add("dr.dns.healthService", "%q has no ingress on %q, so the health check could not reach it", d.HealthService, d.RecordName)
	}
}

func (c *Config) validateGitOps(errs *Errors) {
	if !c.gitOpsOn() {
		return
	}
	errs.component("gitops", gitOpsBindings, c.gitOpsArgs().Validate())
}

// validateBackup: the vault's and the plan's rules at eduai:backup's keys,
// and the lock, which spans both: no lock longer than the retention.
func (c *Config) validateBackup(errs *Errors) {
	errs.component("backup", vaultBindings, c.vaultArgs("").Validate())
	errs.component("backup", planBindings, c.planArgs(nil).Validate())
	if b := c.Backup; b.LockDays > 0 && b.LockDays > b.DataDays {
		errs.add("backup.lockDays", "must be 0..backup.dataDays (%d), or recovery points outlive their retention (got %d)",
			b.DataDays, b.LockDays)
	}
}

// validateRunner checks eduai:runner (defaults applied in the component).
func (c *Config) validateRunner(errs *Errors) {
	r := c.Runner
	if !c.runnerOn() {
		if r.Token != "" {
			errs.add("runner.token", "is set but runner.enabled is false")
		}
		return
	}
	if c.Network.NATStrategy == network.NATNone {
		errs.add("runner.enabled", "the runner polls GitLab through NAT: network.natStrategy %q leaves it no way out "+
			"(set single or perAz, or runner.enabled: false)", c.Network.NATStrategy)
	}
	args := c.runnerArgs(nil, "")
	args.JobImage = runner.DefaultJobImage // not configured
	errs.component("runner", runnerBindings, args.Validate())
	setSecret := "pulumi config set --secret --path 'eduai:runner.token' <glrt-…>"
	if secret, sure := c.secretAt("runner.token"); r.Token != "" && sure && !secret {
		// The value is not repeated: it is a credential.
		errs.add("runner.token", "is in plain text in the stack config; set it with %s", setSecret)
	}
}

// validateBootstrap checks eduai:bootstrap: the second phase runs on the runner.
func (c *Config) validateBootstrap(errs *Errors) {
	if c.Bootstrap.Foundation && !c.runnerOn() {
		errs.add("bootstrap.foundation", "the second phase runs on the in-VPC runner, so runner.enabled must not be false")
	}
}

// oneOf reports a value that is not one of an enumeration's values, listing
// them from the type's own list (issue #21: the allowed values are written once).
func oneOf[T ~string](errs *Errors, path string, v T, values []T) {
	if !enum.Valid(v, values) {
		errs.add(path, "must be one of %s (got %q)", enum.Describe(values), v)
	}
}
