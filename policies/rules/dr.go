package rules

import (
	"fmt"
	"net/netip"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/policyx"
)

const (
	typeGlobalCluster    = "aws:rds/globalCluster:GlobalCluster"
	typeBucketV2         = "aws:s3/bucketV2:BucketV2"
	typeBucketLogging    = "aws:s3/bucketLoggingV2:BucketLoggingV2"
	typeBucketReplConfig = "aws:s3/bucketReplicationConfig:BucketReplicationConfig"
)

// regionOf is the region of a resource's provider ("" when not known).
func regionOf(r policyx.AnalyzerResource) string {
	region, _, _ := str(r.Provider.Properties, "region")
	return region
}

// GlobalDatabaseFindings: every Aurora cluster that is not itself a
// secondary belongs to a global cluster that has a member in another region.
func GlobalDatabaseFindings(rs []policyx.AnalyzerResource) []Finding {
	clusters, globals := ofType(rs, typeRDSCluster), ofType(rs, typeGlobalCluster)
	globalOf := func(c policyx.AnalyzerResource) (policyx.AnalyzerResource, bool, bool) {
		for _, g := range globals {
			if refersTo(g, "sourceDbClusterIdentifier", c) {
				return g, true, true
			}
			if refersTo(c, "globalClusterIdentifier", g) {
				return g, false, true
			}
		}
		return policyx.AnalyzerResource{}, false, false
	}
	var out []Finding
	for _, c := range clusters {
		g, source, ok := globalOf(c)
		if !ok {
			out = append(out, Finding{URN: c.URN, Message: fmt.Sprintf("Aurora cluster %q is in no global cluster: "+
				"a region outage loses the database. Turn on eduai:dr (Aurora Global Database with a secondary in the DR region).",
				c.Name)})
			continue
		}
		if !source {
			continue // a member that is not the adopted primary: a secondary
		}
		region, remote := regionOf(c), false
		for _, m := range clusters {
			if m.URN != c.URN && refersTo(m, "globalClusterIdentifier", g) {
				if other := regionOf(m); other == "" || region == "" || other != region {
					remote = true
				}
			}
		}
		if !remote {
			out = append(out, Finding{URN: c.URN, Message: fmt.Sprintf("the global cluster of Aurora %q has no "+
				"secondary in another region. Give it a secondary in eduai:dr.region.", c.Name)})
		}
	}
	return out
}

// BucketReplicationFindings: every bucket but access-log buckets is the
// source or the destination of a replication to another region.
func BucketReplicationFindings(rs []policyx.AnalyzerResource) []Finding {
	logging, repl := ofType(rs, typeBucketLogging), ofType(rs, typeBucketReplConfig)
	var out []Finding
	for _, b := range ofType(rs, typeBucketV2) {
		isLogTarget := false
		for _, l := range logging {
			if refersTo(l, "targetBucket", b) {
				isLogTarget = true
			}
		}
		if isLogTarget {
			continue
		}
		// Covered: the bucket replicates (an enabled rule) to a bucket of
		// another region. Being written by a replication is not enough
		// (issue #20): the platform's buckets replicate both ways (issue
		// #19), so each takes writes when its region serves, and a bucket
		// that only receives would lose them in its region's outage.
		covered := false
		for _, r := range repl {
			if refersTo(r, "bucket", b) && replicates(r) && toOtherRegion(rs, r, b) {
				covered = true
			}
		}
		if !covered {
			out = append(out, Finding{URN: b.URN, Message: fmt.Sprintf("bucket %q does not replicate to another "+
				"region (an enabled rule to a bucket of another region): a region outage loses its objects. Turn on "+
				"eduai:dr (cross-region replication of the application buckets, both ways).",
				b.Name)})
		}
	}
	return out
}

// toOtherRegion: the configuration's destination buckets (by dependency)
// are in a region other than the source's; a destination the pack cannot
// place (not in the program, or a region not known) gives no verdict.
func toOtherRegion(rs []policyx.AnalyzerResource, r, source policyx.AnalyzerResource) bool {
	for _, d := range ofType(rs, typeBucketV2, typeBucket) {
		if d.URN == source.URN || !refersTo(r, "rules", d) {
			continue
		}
		if here, there := regionOf(source), regionOf(d); here != "" && here == there {
			return false
		}
	}
	return true
}

// replicates tells whether a replication configuration has a rule that is
// on (status Enabled, or not known yet): a configuration whose every rule is
// Disabled replicates nothing (issue #20).
func replicates(r policyx.AnalyzerResource) bool {
	rules, known := objList(r.Properties, "rules")
	if !known {
		return true
	}
	for _, rule := range rules {
		if status, _, known := str(rule, "status"); !known || status == "Enabled" {
			return true
		}
	}
	return false
}

const (
	typeGlobalReplGroup = "aws:elasticache/globalReplicationGroup:GlobalReplicationGroup"
	typeRoute53Record   = "aws:route53/record:Record"
	typeBackupPlan      = "aws:backup/plan:Plan"
	typeBackupSelection = "aws:backup/selection:Selection"
)

// GlobalDatastoreFindings: every Redis group that is not itself a secondary
// is the primary of a Global Datastore with a secondary in another region;
// a secondary (which takes engine, size, TLS and AUTH from its global group)
// is judged through the global group's primary: it must have TLS and AUTH.
func GlobalDatastoreFindings(rs []policyx.AnalyzerResource) []Finding {
	groups, globals := ofType(rs, typeReplicationGroup), ofType(rs, typeGlobalReplGroup)
	primaryOf := func(g policyx.AnalyzerResource) (policyx.AnalyzerResource, bool) {
		for _, p := range groups {
			if refersTo(g, "primaryReplicationGroupId", p) {
				return p, true
			}
		}
		return policyx.AnalyzerResource{}, false
	}
	var out []Finding
	for _, rg := range groups {
		if _, secondary, _ := str(rg.Properties, "globalReplicationGroupId"); secondary {
			var global *policyx.AnalyzerResource
			for i := range globals {
				if refersTo(rg, "globalReplicationGroupId", globals[i]) {
					global = &globals[i]
				}
			}
			if global == nil {
				continue // an existing global group outside the program: nothing to judge it by
			}
			p, ok := primaryOf(*global)
			if !ok {
				continue
			}
			transit, _, tKnown := boolProp(p.Properties, "transitEncryptionEnabled")
			atRest, _, rKnown := boolProp(p.Properties, "atRestEncryptionEnabled")
			auth, aKnown := nonEmpty(p.Properties, "authToken")
			if (tKnown && !transit) || (rKnown && !atRest) || (aKnown && !auth) {
				out = append(out, Finding{URN: rg.URN, Message: fmt.Sprintf("Global Datastore secondary %q inherits "+
					"no TLS, no at-rest encryption or no AUTH from its global group's primary %q. Turn on transit and "+
					"at-rest encryption and an AUTH token on the primary.", rg.Name, p.Name)})
			}
			continue
		}
		var global *policyx.AnalyzerResource
		for i := range globals {
			if refersTo(globals[i], "primaryReplicationGroupId", rg) {
				global = &globals[i]
			}
		}
		if global == nil {
			out = append(out, Finding{URN: rg.URN, Message: fmt.Sprintf("Redis group %q is in no Global Datastore: "+
				"a region outage loses the cache. Turn on eduai:dr (a Global Datastore secondary in the DR region).", rg.Name)})
			continue
		}
		region, remote := regionOf(rg), false
		for _, m := range groups {
			if m.URN != rg.URN && refersTo(m, "globalReplicationGroupId", *global) {
				if other := regionOf(m); other == "" || region == "" || other != region {
					remote = true
				}
			}
		}
		if !remote {
			out = append(out, Finding{URN: rg.URN, Message: fmt.Sprintf("the Global Datastore of Redis %q has no "+
				"secondary in another region. Give it a secondary in eduai:dr.region.", rg.Name)})
		}
	}
	return out
}

// failoverType is a Route 53 record's failover role ("" when it has none or it is not known).
func failoverType(r policyx.AnalyzerResource) string {
	policies, _ := objList(r.Properties, "failoverRoutingPolicies")
	for _, p := range policies {
		if t, _, _ := str(p, "type"); t != "" {
			return t
		}
	}
	return ""
}

// FailoverRecordFindings: a PRIMARY failover record has a health check and
// a SECONDARY sibling of the same name that has one too; a SECONDARY has its
// PRIMARY. Without the check Route 53 never fails over; without the sibling
// there is nothing to fail over to.
func FailoverRecordFindings(rs []policyx.AnalyzerResource) []Finding {
	records := ofType(rs, typeRoute53Record)
	var out []Finding
	for _, r := range records {
		role := failoverType(r)
		if role == "" {
			continue
		}
		name, _, _ := str(r.Properties, "name")
		if _, checked, known := str(r.Properties, "healthCheckId"); known && !checked && len(r.PropertyDependencies["healthCheckId"]) == 0 {
			out = append(out, Finding{URN: r.URN, Message: fmt.Sprintf("%s failover record %q (%s) has no health check, "+
				"so Route 53 cannot tell when to fail over. Give it a health check on /health.", role, name, r.Name)})
		}
		want := map[string]string{"PRIMARY": "SECONDARY", "SECONDARY": "PRIMARY"}[role]
		sibling := false
		for _, o := range records {
			if other, _, _ := str(o.Properties, "name"); o.URN != r.URN && other == name && failoverType(o) == want {
				sibling = true
			}
		}
		if !sibling {
			out = append(out, Finding{URN: r.URN, Message: fmt.Sprintf("%s failover record %q (%s) has no %s record of "+
				"the same name to fail over to. Add the other region's record (eduai:dr.dns).", role, name, r.Name, want)})
		}
	}
	return out
}

// VpcOverlapFindings: no two VPCs of the stack have overlapping CIDR blocks
// (failover, peering and replication routes need distinct ranges).
func VpcOverlapFindings(rs []policyx.AnalyzerResource) []Finding {
	vpcs := ofType(rs, typeVpc)
	var out []Finding
	for i, a := range vpcs {
		ca, _, _ := str(a.Properties, "cidrBlock")
		pa, err := netip.ParsePrefix(ca)
		if err != nil {
			continue
		}
		for _, b := range vpcs[i+1:] {
			cb, _, _ := str(b.Properties, "cidrBlock")
			if pb, err := netip.ParsePrefix(cb); err == nil && pa.Overlaps(pb) {
				out = append(out, Finding{URN: b.URN, Message: fmt.Sprintf("VPC %q (%s) overlaps VPC %q (%s). Give the DR "+
					"region's network a distinct range (eduai:dr.network.cidr).", b.Name, cb, a.Name, ca)})
			}
		}
	}
	return out
}

// BackupTag is the tag AWS Backup selections select by (components/internal/secure).
const (
	BackupTag        = "eduai:backup"
	BackupContinuous = "continuous"
	BackupHourly     = "hourly"
)

// BackupCoverageFindings: backups cover every data store AWS Backup can
// protect: a plan has a continuous-backup rule kept at least minDays and a
// selection of eduai:backup=continuous, which every Aurora cluster carries;
// every bucket but the access-log buckets carries eduai:backup=hourly and a
// selection selects it. (ElastiCache keeps its own snapshots and the broker
// holds transient messages: AWS Backup protects neither.)
func BackupCoverageFindings(minDays int) func([]policyx.AnalyzerResource) []Finding {
	return func(rs []policyx.AnalyzerResource) []Finding {
		clusters := ofType(rs, typeRDSCluster)
		if len(clusters) == 0 {
			return nil
		}
		var out []Finding
		var plans []policyx.AnalyzerResource
		unknown := false // something not known yet: no verdict on the plan's existence
		for _, p := range ofType(rs, typeBackupPlan) {
			rules, rulesKnown := objList(p.Properties, "rules")
			unknown = unknown || !rulesKnown
			for _, rule := range rules {
				continuous, _, cKnown := boolProp(rule, "enableContinuousBackup")
				lifecycle, _, lKnown := object(rule, "lifecycle")
				days, _, known := num(lifecycle, "deleteAfter")
				if !cKnown || !lKnown || (continuous && (!known || days >= float64(minDays))) {
					plans = append(plans, p)
				}
			}
		}
		selected := false
		for _, s := range ofType(rs, typeBackupSelection) {
			tags, tagsKnown := objList(s.Properties, "selectionTags")
			unknown = unknown || !tagsKnown
			for _, tag := range tags {
				k, _, kKnown := str(tag, "key")
				v, _, vKnown := str(tag, "value")
				unknown = unknown || !kKnown || !vKnown
				for _, p := range plans {
					if k == BackupTag && v == BackupContinuous && refersTo(s, "planId", p) {
						selected = true
					}
				}
			}
		}
		if !selected && !unknown {
			out = append(out, Finding{Message: fmt.Sprintf("no backup plan keeps continuous backups of the databases %d days "+
				"or more and selects %s=%s. Turn on eduai:backup (databaseDays >= %d).", minDays, BackupTag, BackupContinuous, minDays)})
		}
		for _, c := range clusters {
			if tags, known := strMap(c.Properties, "tags"); known && tags[BackupTag] != BackupContinuous {
				out = append(out, Finding{URN: c.URN, Message: fmt.Sprintf("Aurora cluster %q lacks the tag %s=%s, so no "+
					"backup selection covers it. The database component sets it.", c.Name, BackupTag, BackupContinuous)})
			}
		}
		// Application data: every bucket but the access-log buckets carries the
		// hourly tag, and some selection selects it.
		hourly := unknown
		for _, s := range ofType(rs, typeBackupSelection) {
			tags, _ := objList(s.Properties, "selectionTags")
			for _, tag := range tags {
				k, _, _ := str(tag, "key")
				v, _, _ := str(tag, "value")
				hourly = hourly || (k == BackupTag && v == BackupHourly)
			}
		}
		logging := ofType(rs, typeBucketLogging)
		for _, b := range ofType(rs, typeBucket, typeBucketV1) {
			logTarget := false
			for _, l := range logging {
				logTarget = logTarget || refersTo(l, "targetBucket", b)
			}
			if logTarget {
				continue
			}
			tags, known := strMap(b.Properties, "tags")
			switch {
			case known && tags[BackupTag] != BackupHourly:
				out = append(out, Finding{URN: b.URN, Message: fmt.Sprintf("bucket %q lacks the tag %s=%s, so no backup "+
					"selection covers it. The storage component sets it.", b.Name, BackupTag, BackupHourly)})
			case known && !hourly:
				out = append(out, Finding{URN: b.URN, Message: fmt.Sprintf("no backup plan selects %s=%s, so bucket %q "+
					"has no hourly backups. Turn on eduai:backup.", BackupTag, BackupHourly, b.Name)})
			}
		}
		return out
	}
}

// checkBackupVaultCMK: backup vaults encrypt recovery points with a customer-managed key (CKV_AWS_166).
var checkBackupVaultCMK = presentRule("aws:backup/vault:Vault", "kmsKeyArn", "backup vault %q encrypts with the "+
	"AWS-managed key. Give it a customer-managed key (kmsKeyArn; the backup component does).")

// GlobalClusterEncryptionFindings: a global database is encrypted: it sets
// storageEncrypted, or adopts a source cluster whose storage is encrypted
// (CKV_AWS_140).
func GlobalClusterEncryptionFindings(rs []policyx.AnalyzerResource) []Finding {
	var out []Finding
	clusters := ofType(rs, typeRDSCluster)
	for _, g := range ofType(rs, typeGlobalCluster) {
		if on, present, known := boolProp(g.Properties, "storageEncrypted"); !known || (present && on) {
			continue
		}
		encrypted := false
		for _, c := range clusters {
			if refersTo(g, "sourceDbClusterIdentifier", c) {
				on, _, known := boolProp(c.Properties, "storageEncrypted")
				encrypted = !known || on
			}
		}
		if !encrypted {
			out = append(out, Finding{URN: g.URN, Message: fmt.Sprintf("global cluster %q is not encrypted: neither it "+
				"nor its source cluster sets storageEncrypted. Encrypt the source cluster (the database component does).", g.Name)})
		}
	}
	return out
}

const typeMetricAlarm = "aws:cloudwatch/metricAlarm:MetricAlarm"

// checkAlarmActions: a CloudWatch alarm notifies someone: actions enabled
// and at least one alarm action (CKV_AWS_319).
func checkAlarmActions(args policyx.ResourceValidationArgs) error {
	r := args.Resource
	if r.Type != typeMetricAlarm {
		return nil
	}
	if on, present, known := boolProp(r.Properties, "actionsEnabled"); known && present && !on {
		args.Manager.ReportViolation(fmt.Sprintf("alarm %q has its actions disabled. Remove actionsEnabled: false.", r.Name), "")
		return nil
	}
	if actions, known := strList(r.Properties, "alarmActions"); known && len(actions) == 0 {
		args.Manager.ReportViolation(fmt.Sprintf("alarm %q notifies no one. Give it alarmActions (the stack's "+
			"alarm topic).", r.Name), "")
	}
	return nil
}
