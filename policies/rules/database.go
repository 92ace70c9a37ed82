package rules

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/property"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/policyx"
)

const (
	typeRDSCluster  = "aws:rds/cluster:Cluster"
	typeRDSInstance = "aws:rds/clusterInstance:ClusterInstance"
)

func boolProp(p property.Map, key string) (on, present, known bool) {
	return scalar(p, key, property.Value.IsBool, property.Value.AsBool)
}

// checkRDSEncrypted: Aurora storage is encrypted, with a customer-managed key (CKV_AWS_96, CKV_AWS_327).
func checkRDSEncrypted(args policyx.ResourceValidationArgs) error {
	r := args.Resource
	if r.Type != typeRDSCluster {
		return nil
	}
	on, _, known := boolProp(r.Properties, "storageEncrypted")
	keyPresent, keyKnown := customerKey(r.Properties, "kmsKeyId")
	switch {
	case known && !on:
		args.Manager.ReportViolation(fmt.Sprintf("Aurora cluster %q stores data unencrypted. Set storageEncrypted: true "+
			"with the cluster's KMS key (the database component does).", r.Name), "")
	case known && keyKnown && !keyPresent:
		args.Manager.ReportViolation(fmt.Sprintf("Aurora cluster %q is encrypted with the AWS-managed key. Give it a "+
			"customer-managed key (kmsKeyId) so key policy and rotation are yours.", r.Name), "")
	}
	return nil
}

// checkRDSBackupRetention: backups are kept at least minimumDays (from the
// stack's policy config: 7 in staging, 30 in prod) (CKV_AWS_133).
func checkRDSBackupRetention(args policyx.ResourceValidationArgs) error {
	r := args.Resource
	if r.Type != typeRDSCluster {
		return nil
	}
	minimum := 7.0
	if m, ok := args.Config["minimumDays"].(float64); ok {
		minimum = m
	}
	days, present, known := num(r.Properties, "backupRetentionPeriod")
	if !known {
		return nil
	}
	if !present {
		days = 1 // the RDS default
	}
	if days < minimum {
		args.Manager.ReportViolation(fmt.Sprintf("Aurora cluster %q keeps backups %v day(s); this stack needs at least %v. "+
			"Raise eduai:database.backupRetentionDays.", r.Name, days, minimum), "")
	}
	return nil
}

// boolRule reports a resource of type typ whose boolean key is known and is
// not want. An absent value reads as false, the AWS default of every key used here.
func boolRule(typ, key string, want bool, message string) func(policyx.ResourceValidationArgs) error {
	return func(args policyx.ResourceValidationArgs) error {
		r := args.Resource
		if r.Type != typ {
			return nil
		}
		if on, _, known := boolProp(r.Properties, key); known && on != want {
			args.Manager.ReportViolation(fmt.Sprintf(message, r.Name), "")
		}
		return nil
	}
}

var (
	// checkRDSIAMAuth: IAM database authentication is on (CKV_AWS_162).
	checkRDSIAMAuth = boolRule(typeRDSCluster, "iamDatabaseAuthenticationEnabled", true,
		"Aurora cluster %q does not accept IAM authentication. Set iamDatabaseAuthenticationEnabled: true so "+
			"services connect with short-lived tokens.")
	// checkRDSNotPublic: no database instance is reachable from the internet (CKV_AWS_17).
	checkRDSNotPublic = boolRule(typeRDSInstance, "publiclyAccessible", false,
		"database instance %q is publicly accessible. Set publiclyAccessible: false; clients reach it from the "+
			"workload subnets.")
	// checkSubnetPublicIP: no subnet hands out public IPs by default (CKV_AWS_130).
	checkSubnetPublicIP = boolRule(typeSubnet, "mapPublicIpOnLaunch", false,
		"subnet %q gives every instance launched in it a public IP. Set mapPublicIpOnLaunch: false; load "+
			"balancers and NAT gateways get their addresses explicitly.")
)

const typeReplicationGroup = "aws:elasticache/replicationGroup:ReplicationGroup"

// checkRedisEncryption: Redis encrypts at rest with a customer-managed key,
// in transit, and requires an AUTH token (CKV_AWS_29, 30, 31, 191).
func checkRedisEncryption(args policyx.ResourceValidationArgs) error {
	r := args.Resource
	if r.Type != typeReplicationGroup {
		return nil
	}
	var missing []string
	if ok, known := customerKey(r.Properties, "kmsKeyId"); known && !ok {
		missing = append(missing, "kmsKeyId (a customer-managed key)")
	}
	if _, secondary, _ := str(r.Properties, "globalReplicationGroupId"); secondary {
		// A Global Datastore secondary takes at-rest encryption, TLS and AUTH
		// from its global group (the provider refuses them next to
		// globalReplicationGroupId); dr-elasticache-global judges them
		// through the group's primary. Its own key it does bring.
		reportMissing(args, r.Name, missing)
		return nil
	}
	if on, _, known := boolProp(r.Properties, "atRestEncryptionEnabled"); known && !on {
		missing = append(missing, "atRestEncryptionEnabled")
	}
	if on, _, known := boolProp(r.Properties, "transitEncryptionEnabled"); known && !on {
		missing = append(missing, "transitEncryptionEnabled")
	}
	// "preferred" accepts plaintext clients too (ElastiCache user guide,
	// "Enabling in-transit encryption": the migration mode) (issue #20).
	if mode, present, known := str(r.Properties, "transitEncryptionMode"); known && present && mode != "required" {
		missing = append(missing, `transitEncryptionMode "required" (it is "`+mode+`", which admits plaintext)`)
	}
	if ok, known := nonEmpty(r.Properties, "authToken"); known && !ok {
		missing = append(missing, "authToken")
	}
	reportMissing(args, r.Name, missing)
	return nil
}

func reportMissing(args policyx.ResourceValidationArgs, name string, missing []string) {
	if len(missing) > 0 {
		args.Manager.ReportViolation(fmt.Sprintf("Redis replication group %q lacks %s. The cache component sets all of "+
			"them (TLS, at-rest encryption with its key, an AUTH token from pulumi-random).", name,
			strings.Join(missing, ", ")), "")
	}
}

const (
	typeMQBroker   = "aws:mq/broker:Broker"
	typeMSKCluster = "aws:msk/cluster:Cluster"
)

// checkBroker: message brokers are private, encrypted in transit (and at rest
// with a customer-managed key where the engine allows it), authenticate
// clients and log (CKV_AWS_48, 69, 80, 81, 291).
func checkBroker(args policyx.ResourceValidationArgs) error {
	r := args.Resource
	var problems []string
	switch r.Type {
	case typeMQBroker:
		if on, _, known := boolProp(r.Properties, "publiclyAccessible"); known && on {
			problems = append(problems, "it is publicly accessible")
		}
		if on, _, known := boolProp(r.Properties, "autoMinorVersionUpgrade"); known && !on {
			problems = append(problems, "it takes no minor version upgrades (autoMinorVersionUpgrade)")
		}
		logs, _, known := object(r.Properties, "logs")
		if on, _, logKnown := boolProp(logs, "general"); known && logKnown && !on {
			problems = append(problems, "general logs are off")
		}
	case typeMSKCluster:
		problems = mskProblems(r.Properties)
	default:
		return nil
	}
	if len(problems) > 0 {
		args.Manager.ReportViolation(fmt.Sprintf("%s %q: %s. The queue component keeps brokers private, TLS-only, "+
			"authenticated (IAM for Kafka) and logging to CloudWatch.", r.Type, r.Name, strings.Join(problems, "; ")), "")
	}
	return nil
}

// mskProblems judges an MSK cluster as CKV_AWS_80/81 and our queue do
// (issue #20): TLS between clients and brokers (clientBroker defaults to TLS)
// and between brokers (inCluster defaults to true), storage under a
// customer-managed key, clients that authenticate (IAM, SCRAM or mutual TLS;
// a cluster without clientAuthentication admits anyone), broker logs
// delivered somewhere, and no public access.
func mskProblems(p property.Map) []string {
	var problems []string
	enc, _, known := object(p, "encryptionInfo")
	transit, _, transitKnown := object(enc, "encryptionInTransit")
	if cb, present, cbKnown := str(transit, "clientBroker"); known && cbKnown && present && cb != "TLS" {
		problems = append(problems, "clients may connect without TLS (clientBroker "+cb+")")
	}
	if on, present, k := boolProp(transit, "inCluster"); known && transitKnown && k && present && !on {
		problems = append(problems, "brokers talk to each other without TLS (encryptionInTransit.inCluster false)")
	}
	if ok, keyKnown := customerKey(enc, "encryptionAtRestKmsKeyArn"); known && keyKnown && !ok {
		problems = append(problems, "data at rest uses the AWS-managed key")
	}
	auth, authPresent, authKnown := object(p, "clientAuthentication")
	if authKnown {
		sasl, _, _ := object(auth, "sasl")
		iam, _, iamKnown := boolProp(sasl, "iam")
		scram, _, scramKnown := boolProp(sasl, "scram")
		tls, _, _ := object(auth, "tls")
		cas, casKnown := strList(tls, "certificateAuthorityArns")
		open, _, _ := boolProp(auth, "unauthenticated")
		// A method not known yet may be on: no verdict on it.
		method := iam || scram || len(cas) > 0 || !iamKnown || !scramKnown || !casKnown
		switch {
		case !authPresent:
			problems = append(problems, "clients do not authenticate (no clientAuthentication)")
		case open:
			problems = append(problems, "unauthenticated clients are allowed")
		case !method:
			problems = append(problems, "no client authentication method is on (sasl.iam, sasl.scram or tls)")
		}
	}
	if logging, _, logKnown := object(p, "loggingInfo"); logKnown {
		broker, _, _ := object(logging, "brokerLogs")
		delivered := false
		for _, sink := range []string{"cloudwatchLogs", "firehose", "s3"} {
			m, _, _ := object(broker, sink)
			on, _, k := boolProp(m, "enabled")
			delivered = delivered || on || !k
		}
		if !delivered {
			problems = append(problems, "broker logs go nowhere (loggingInfo.brokerLogs)")
		}
	}
	info, _, _ := object(p, "brokerNodeGroupInfo")
	conn, _, _ := object(info, "connectivityInfo")
	public, _, _ := object(conn, "publicAccess")
	if t, _, k := str(public, "type"); k && t != "" && t != "DISABLED" {
		problems = append(problems, "brokers have public access ("+t+")")
	}
	return problems
}

// checkRDSInstanceMonitoring: database instances send Performance Insights
// (encrypted with a customer-managed key) and enhanced monitoring
// (CKV_AWS_118, CKV_AWS_353, CKV_AWS_354).
func checkRDSInstanceMonitoring(args policyx.ResourceValidationArgs) error {
	r := args.Resource
	if r.Type != typeRDSInstance {
		return nil
	}
	var missing []string
	if on, _, known := boolProp(r.Properties, "performanceInsightsEnabled"); known && !on {
		missing = append(missing, "Performance Insights")
	} else if _, present, kKnown := str(r.Properties, "performanceInsightsKmsKeyId"); known && kKnown && !present {
		missing = append(missing, "a customer-managed key for Performance Insights")
	}
	if n, _, known := num(r.Properties, "monitoringInterval"); known && n <= 0 {
		missing = append(missing, "enhanced monitoring (monitoringInterval)")
	}
	if len(missing) > 0 {
		args.Manager.ReportViolation(fmt.Sprintf("database instance %q lacks %s. The database component turns "+
			"them on outside dev (with the cluster's key and a monitoring role).", r.Name, strings.Join(missing, ", ")), "")
	}
	return nil
}

// exactEngineVersion matches a version that names its minor ("16.6"), not only its major ("16").
var exactEngineVersion = regexp.MustCompile(`^[0-9]+\.[0-9]+`)

// checkRDSMinorUpgrades: database instances get minor engine upgrades
// (CKV_AWS_226), in a way that cannot drift (issue #17): either automatic
// ones with a major-only engine version, or an exact version upgraded by
// config with automatic upgrades off. Automatic upgrades under an exact pin
// make AWS's upgrade a drift the next `up` tries to undo, and RDS refuses the
// downgrade (the provider keeps a pin like "16" only while the running
// version starts with it: terraform-provider-aws internal/service/rds/verify.go,
// compareActualEngineVersion). autoMinorVersionUpgrade defaults to true.
func checkRDSMinorUpgrades(args policyx.ResourceValidationArgs) error {
	r := args.Resource
	if r.Type != typeRDSInstance {
		return nil
	}
	auto, set, autoKnown := boolProp(r.Properties, "autoMinorVersionUpgrade")
	if !set {
		auto = true
	}
	version, _, versionKnown := str(r.Properties, "engineVersion")
	if !autoKnown || !versionKnown {
		return nil
	}
	exact := exactEngineVersion.MatchString(version)
	switch {
	case auto && exact:
		args.Manager.ReportViolation(fmt.Sprintf("database instance %q takes automatic minor upgrades but is pinned "+
			"to %s: once AWS upgrades it, the next pulumi up tries a downgrade RDS refuses. Turn "+
			"autoMinorVersionUpgrade off and upgrade by config (docs/runbooks/database-upgrade.md).", r.Name, version), "")
	case !auto && !exact:
		args.Manager.ReportViolation(fmt.Sprintf("database instance %q takes no minor engine upgrades (security "+
			"fixes): automatic upgrades are off and no exact version is pinned. Pin eduai:database.engineVersion "+
			"and raise it by config.", r.Name), "")
	}
	return nil
}

const typeClusterParams = "aws:rds/clusterParameterGroup:ClusterParameterGroup"

// RDSLoggingFindings: every Aurora cluster exports its postgresql log, logs
// slow statements through its parameter group, and copies its tags to
// snapshots (CKV_AWS_324, CKV2_AWS_27, CKV_AWS_313).
func RDSLoggingFindings(rs []policyx.AnalyzerResource) []Finding {
	var out []Finding
	params := ofType(rs, typeClusterParams)
	for _, c := range ofType(rs, typeRDSCluster) {
		var missing []string
		if exports, known := strList(c.Properties, "enabledCloudwatchLogsExports"); known && !slices.Contains(exports, "postgresql") {
			missing = append(missing, `the postgresql log export (enabledCloudwatchLogsExports: ["postgresql"])`)
		}
		if on, _, known := boolProp(c.Properties, "copyTagsToSnapshot"); known && !on {
			missing = append(missing, "copyTagsToSnapshot")
		}
		// PostgreSQL logs slow statements (log_min_duration_statement) and
		// schema changes (log_statement ddl or more): CKV2_AWS_27 wants both.
		engine, _, _ := str(c.Properties, "engine")
		logged, ddl, seen := false, !strings.Contains(engine, "postgres"), false
		for _, p := range params {
			if !refersTo(c, "dbClusterParameterGroupName", p) {
				continue
			}
			seen = true
			list, known := objList(p.Properties, "parameters")
			if !known {
				logged, ddl = true, true
			}
			for _, kv := range list {
				name, _, nKnown := str(kv, "name")
				v, _, vKnown := str(kv, "value")
				if !nKnown || (name == "log_min_duration_statement" && (!vKnown || (v != "" && v != "-1"))) {
					logged = true // a parameter not known yet: no verdict
				}
				if !nKnown || (name == "log_statement" && (!vKnown || (v != "" && v != "none"))) {
					ddl = true
				}
			}
		}
		if !seen || !logged {
			missing = append(missing, "slow-statement logging (a cluster parameter group with log_min_duration_statement)")
		}
		if !seen || !ddl {
			missing = append(missing, "statement logging (log_statement: ddl, all or mod)")
		}
		if len(missing) > 0 {
			out = append(out, Finding{URN: c.URN, Message: fmt.Sprintf("Aurora cluster %q lacks %s. The database "+
				"component sets them.", c.Name, strings.Join(missing, "; "))})
		}
	}
	return out
}

// RDSTLSFindings: every Aurora cluster refuses connections without TLS —
// its cluster parameter group sets rds.force_ssl to 1 (PostgreSQL; Aurora
// PostgreSQL 16's default is 1, but a group that sets 0 turns it off) or
// require_secure_transport to ON (MySQL). A cluster on the engine's default
// group is judged by the engine default: Aurora PostgreSQL 15 and later
// force TLS, Aurora MySQL does not (RDS user guide, "Securing Aurora
// PostgreSQL data with SSL/TLS"; "TLS connections to Aurora MySQL") (issue #20).
func RDSTLSFindings(rs []policyx.AnalyzerResource) []Finding {
	var out []Finding
	params := ofType(rs, typeClusterParams)
	for _, c := range ofType(rs, typeRDSCluster) {
		engine, _, engineKnown := str(c.Properties, "engine")
		version, _, versionKnown := str(c.Properties, "engineVersion")
		if !engineKnown || !versionKnown {
			continue
		}
		mysql := strings.Contains(engine, "mysql")
		name, want := "rds.force_ssl", []string{"1"}
		if mysql {
			name, want = "require_secure_transport", []string{"ON", "1"}
		}
		major, _ := strconv.Atoi(strings.SplitN(version, ".", 2)[0])
		forced, known := !mysql && major >= 15, true
		for _, p := range params {
			if !refersTo(c, "dbClusterParameterGroupName", p) {
				continue
			}
			list, listKnown := objList(p.Properties, "parameters")
			known = known && listKnown
			for _, kv := range list {
				n, _, nKnown := str(kv, "name")
				v, _, vKnown := str(kv, "value")
				switch {
				case !nKnown || (n == name && !vKnown):
					known = false
				case n == name:
					forced = slices.ContainsFunc(want, func(w string) bool { return strings.EqualFold(w, v) })
				}
			}
		}
		if known && !forced {
			out = append(out, Finding{URN: c.URN, Message: fmt.Sprintf("Aurora cluster %q accepts connections "+
				"without TLS: its cluster parameter group does not set %s to %s. Set it (the database component "+
				"does).", c.Name, name, want[0])})
		}
	}
	return out
}

// MinInstances is how many instances a writer cluster runs at least in prod (a writer and a failover target).
const MinInstances = 2

// RDSInstanceCountFindings: every Aurora cluster that takes writes (not a
// global secondary) runs at least MinInstances instances, so a failure or a
// maintenance fails over instead of stopping (the "at least 2 in prod").
func RDSInstanceCountFindings(rs []policyx.AnalyzerResource) []Finding {
	var out []Finding
	instances := ofType(rs, typeRDSInstance)
	for _, c := range ofType(rs, typeRDSCluster) {
		if _, secondary, _ := str(c.Properties, "globalClusterIdentifier"); secondary {
			continue
		}
		n := 0
		for _, i := range instances {
			if refersTo(i, "clusterIdentifier", c) {
				n++
			}
		}
		if n < MinInstances {
			out = append(out, Finding{URN: c.URN, Message: fmt.Sprintf("Aurora cluster %q runs %d instance(s); a writer "+
				"needs a second instance to fail over to. Set eduai:database.instances to %d or more.", c.Name, n, MinInstances)})
		}
	}
	return out
}

// checkRedisMultiAZ: a Redis group fails over automatically to a replica in
// another zone (CKV2_AWS_50).
func checkRedisMultiAZ(args policyx.ResourceValidationArgs) error {
	r := args.Resource
	if r.Type != typeReplicationGroup {
		return nil
	}
	failover, _, fKnown := boolProp(r.Properties, "automaticFailoverEnabled")
	multiAZ, _, mKnown := boolProp(r.Properties, "multiAzEnabled")
	// Failover needs somewhere to go: a replica per shard (cluster mode) or
	// a second node (issue #20).
	replicas, rPresent, rKnown := num(r.Properties, "replicasPerNodeGroup")
	nodes, nPresent, nKnown := num(r.Properties, "numCacheClusters")
	noReplica := (rKnown && rPresent && replicas < 1) || (nKnown && nPresent && nodes < 2)
	if (fKnown && !failover) || (mKnown && !multiAZ) || noReplica {
		args.Manager.ReportViolation(fmt.Sprintf("Redis group %q has no automatic failover to another zone "+
			"(automaticFailoverEnabled and multiAzEnabled). Give it a replica (eduai:cache.replicasPerShard).", r.Name), "")
	}
	return nil
}

// MinimumBrokerVersions are the oldest engine versions AWS still supports
// (Amazon MQ: RabbitMQ 3.13; MSK: Kafka 3.6), per engine; the rule's config
// minimumVersions overrides them.
var MinimumBrokerVersions = map[string]string{"rabbitmq": "3.13", "kafka": "3.6"}

// versionLess compares dotted versions by their numeric fields ("x" reads as 0).
func versionLess(a, b string) bool {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(as) || i < len(bs); i++ {
		var x, y int // a field that is not a number ("x") reads as 0
		if i < len(as) {
			x, _ = strconv.Atoi(as[i])
		}
		if i < len(bs) {
			y, _ = strconv.Atoi(bs[i])
		}
		if x != y {
			return x < y
		}
	}
	return false
}

// checkBrokerVersion: brokers run an engine version AWS still supports (CKV_AWS_208).
func checkBrokerVersion(args policyx.ResourceValidationArgs) error {
	r := args.Resource
	var engine, key string
	switch r.Type {
	case typeMQBroker:
		e, _, _ := str(r.Properties, "engineType")
		engine, key = strings.ToLower(e), "engineVersion"
	case typeMSKCluster:
		engine, key = "kafka", "kafkaVersion"
	default:
		return nil
	}
	minimum := MinimumBrokerVersions[engine]
	if m, ok := args.Config["minimumVersions"].(map[string]any); ok {
		if v, ok := m[engine].(string); ok {
			minimum = v
		}
	}
	if v, present, known := str(r.Properties, key); known && present && minimum != "" && versionLess(v, minimum) {
		args.Manager.ReportViolation(fmt.Sprintf("%s %q runs %s %s, older than %s, which AWS no longer supports. "+
			"Set eduai:queue.engineVersion to %s or newer.", r.Type, r.Name, engine, v, minimum, minimum), "")
	}
	return nil
}

// checkRDSDeletionProtection: staging and prod clusters cannot be deleted by
// accident, and a deliberate deletion leaves a final snapshot (CKV_AWS_139).
// A global secondary skips the snapshot: its data lives in the global cluster.
func checkRDSDeletionProtection(args policyx.ResourceValidationArgs) error {
	r := args.Resource
	if r.Type != typeRDSCluster {
		return nil
	}
	var missing []string
	if on, _, known := boolProp(r.Properties, "deletionProtection"); known && !on {
		missing = append(missing, "deletion protection")
	}
	_, secondary, _ := str(r.Properties, "globalClusterIdentifier")
	if skip, _, known := boolProp(r.Properties, "skipFinalSnapshot"); known && skip && !secondary {
		missing = append(missing, "a final snapshot (skipFinalSnapshot is true)")
	}
	if len(missing) > 0 {
		args.Manager.ReportViolation(fmt.Sprintf("Aurora cluster %q has no %s. The database component turns on "+
			"deletion protection with a final snapshot outside dev.", r.Name, strings.Join(missing, " and ")), "")
	}
	return nil
}
