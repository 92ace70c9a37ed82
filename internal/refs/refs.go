// Package refs knows which inputs of a resource address another resource
// that must already exist when the resource is created: an EKS add-on names
// its cluster, a role policy its role, a Kubernetes object its namespace, a
// custom resource the chart that installs its CRD. AWS answers such a create
// with ResourceNotFound (or NoSuchEntity, DBSubnetGroupNotFoundFault, …) and
// Kubernetes with `namespaces "x" not found` or `no matches for kind`, so a
// program must make the resource wait for its referent, by passing the
// referent's output or by an explicit dependency.
//
// Two users: the offline reference analysis (internal/critpath), which
// finds in a recorded plan every such reference without a dependency path
// to its referent, and the engine tests' stand-in providers, which refuse a
// create whose referent they have not created yet.
package refs

import (
	"encoding/json"
	"regexp"
	"sort"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// Rule says that an input of some resource types addresses a resource of
// other types by one of its identities.
type Rule struct {
	// From is a type token, or a prefix ending in "*" ("aws:eks/*", "kubernetes:*").
	From string
	// Except are types From's prefix does not cover.
	Except []string
	// Path is the input: a.b, list elements a[*].b (a one-item block may be an object or a list).
	Path string
	// To are the referent types; empty for any type (ARNs and EC2 ids name themselves).
	To []string
	// By is the referent's identity: "id", or a path into its state ("arn",
	// "name", "metadata.name", "status.loadBalancer.ingress[*].hostname").
	By string
	// Prefix precedes the identity in the input ("cluster:" + an Aurora cluster id).
	Prefix string
	// Namespaced: a Kubernetes referent in the referrer's namespace.
	Namespaced bool
	// Principals: the input is an IAM policy document; its AWS principals are the references.
	Principals bool
	// Unless names a boolean input that, when true, makes the reference not
	// one (a Helm release that creates its namespace; an optional Secret).
	Unless string
	// Answer is what the real API answers a create whose referent does not exist.
	Answer string
}

// Ref is one reference found in a resource's inputs.
type Ref struct {
	Rule *Rule
	// Path is the concrete input path (list indexes filled in).
	Path string
	// Value is the referent's identity (the input without Rule.Prefix).
	Value string
	// Namespace is the referrer's namespace, for a namespaced referent.
	Namespace string
	// Region is the referent's region when it is not the referrer's (a
	// cross-region peering's peer VPC); "" for the referrer's own.
	Region string
}

// CrossRegion names, per type, the inputs that address a resource in
// another region and the input that names that region: a VPC peering
// requested from one region names the peer VPC in PeerRegion (EC2 API,
// CreateVpcPeeringConnection).
var CrossRegion = map[string]map[string]string{
	"aws:ec2/vpcPeeringConnection:VpcPeeringConnection": {"peerVpcId": "peerRegion"},
}

const (
	eksCluster   = "aws:eks/cluster:Cluster"
	eksComponent = "eks:index:Cluster" // pulumi-eks creates the aws:eks/cluster:Cluster
	iamRole      = "aws:iam/role:Role"
	logGroup     = "aws:cloudwatch/logGroup:LogGroup"
	bucket       = "aws:s3/bucketV2:BucketV2"
	backupVault  = "aws:backup/vault:Vault"
	// Namespace is the Kubernetes namespace type.
	Namespace = "kubernetes:core/v1:Namespace"
	// HelmRelease is the Helm release type.
	HelmRelease = "kubernetes:helm.sh/v3:Release"
)

// Rules are the references the program's resource types make, each with
// what the service answers when the referent is missing (AWS API references
// per service; Kubernetes API server admission, NamespaceLifecycle).
var Rules = []Rule{
	{From: "aws:eks/*", Path: "clusterName", To: []string{eksCluster, eksComponent}, By: "name",
		Answer: "ResourceNotFoundException: No cluster found for name"},
	{From: "aws:iam/rolePolicy:RolePolicy", Path: "role", To: []string{iamRole}, By: "name",
		Answer: "NoSuchEntity: The role cannot be found"},
	{From: "aws:iam/rolePolicyAttachment:RolePolicyAttachment", Path: "role", To: []string{iamRole}, By: "name",
		Answer: "NoSuchEntity: The role cannot be found"},
	{From: "aws:kms/alias:Alias", Path: "targetKeyId", To: []string{"aws:kms/key:Key"}, By: "id",
		Answer: "NotFoundException: Key does not exist"},
	{From: "aws:rds/cluster:Cluster", Path: "dbSubnetGroupName", To: []string{"aws:rds/subnetGroup:SubnetGroup"}, By: "name",
		Answer: "DBSubnetGroupNotFoundFault"},
	{From: "aws:rds/cluster:Cluster", Path: "dbClusterParameterGroupName",
		To: []string{"aws:rds/clusterParameterGroup:ClusterParameterGroup"}, By: "name",
		Answer: "DBClusterParameterGroupNotFound"},
	{From: "aws:rds/cluster:Cluster", Path: "globalClusterIdentifier", To: []string{"aws:rds/globalCluster:GlobalCluster"},
		By: "globalClusterIdentifier", Answer: "GlobalClusterNotFoundFault"},
	{From: "aws:rds/clusterInstance:ClusterInstance", Path: "clusterIdentifier", To: []string{"aws:rds/cluster:Cluster"},
		By: "clusterIdentifier", Answer: "DBClusterNotFoundFault"},
	{From: "aws:rds/clusterInstance:ClusterInstance", Path: "dbSubnetGroupName", To: []string{"aws:rds/subnetGroup:SubnetGroup"},
		By: "name", Answer: "DBSubnetGroupNotFoundFault"},
	{From: "aws:elasticache/replicationGroup:ReplicationGroup", Path: "subnetGroupName",
		To: []string{"aws:elasticache/subnetGroup:SubnetGroup"}, By: "name", Answer: "CacheSubnetGroupNotFoundFault"},
	{From: "aws:elasticache/replicationGroup:ReplicationGroup", Path: "parameterGroupName",
		To: []string{"aws:elasticache/parameterGroup:ParameterGroup"}, By: "name", Answer: "CacheParameterGroupNotFound"},
	{From: "aws:elasticache/replicationGroup:ReplicationGroup", Path: "globalReplicationGroupId",
		To: []string{"aws:elasticache/globalReplicationGroup:GlobalReplicationGroup"}, By: "globalReplicationGroupId",
		Answer: "GlobalReplicationGroupNotFoundFault"},
	{From: "aws:elasticache/replicationGroup:ReplicationGroup", Path: "logDeliveryConfigurations[*].destination",
		To: []string{logGroup}, By: "name", Answer: "InvalidParameterValue: the log group does not exist"},
	{From: "aws:elasticache/globalReplicationGroup:GlobalReplicationGroup", Path: "primaryReplicationGroupId",
		To: []string{"aws:elasticache/replicationGroup:ReplicationGroup"}, By: "replicationGroupId",
		Answer: "ReplicationGroupNotFoundFault"},
	{From: "aws:msk/cluster:Cluster", Path: "loggingInfo.brokerLogs.cloudwatchLogs.logGroup", To: []string{logGroup},
		By: "name", Answer: "BadRequestException: the log group does not exist"},
	{From: "aws:backup/plan:Plan", Path: "rules[*].targetVaultName", To: []string{backupVault}, By: "name",
		Answer: "InvalidParameterValueException: backup vault does not exist"},
	{From: "aws:backup/selection:Selection", Path: "planId", To: []string{"aws:backup/plan:Plan"}, By: "id",
		Answer: "ResourceNotFoundException: backup plan not found"},
	{From: "aws:backup/vaultLockConfiguration:VaultLockConfiguration", Path: "backupVaultName", To: []string{backupVault},
		By: "name", Answer: "ResourceNotFoundException: backup vault not found"},
	{From: "aws:backup/vaultPolicy:VaultPolicy", Path: "backupVaultName", To: []string{backupVault}, By: "name",
		Answer: "ResourceNotFoundException: backup vault not found"},
	{From: "aws:backup/restoreTestingSelection:RestoreTestingSelection", Path: "restoreTestingPlanName",
		To: []string{"aws:backup/restoreTestingPlan:RestoreTestingPlan"}, By: "name",
		Answer: "ResourceNotFoundException: restore testing plan not found"},
	{From: "aws:s3/*", Except: []string{bucket}, Path: "bucket", To: []string{bucket}, By: "bucket",
		Answer: "NoSuchBucket: The specified bucket does not exist"},
	{From: "aws:s3/bucketLoggingV2:BucketLoggingV2", Path: "targetBucket", To: []string{bucket}, By: "bucket",
		Answer: "InvalidTargetBucketForLogging: The target bucket for logging does not exist"},
	{From: "aws:secretsmanager/secretVersion:SecretVersion", Path: "secretId",
		To: []string{"aws:secretsmanager/secret:Secret"}, By: "id",
		Answer: "ResourceNotFoundException: Secrets Manager can't find the specified secret"},
	{From: "aws:route53/record:Record", Path: "zoneId", To: []string{"aws:route53/zone:Zone"}, By: "zoneId",
		Answer: "NoSuchHostedZone"},
	{From: "aws:route53/record:Record", Path: "healthCheckId", To: []string{"aws:route53/healthCheck:HealthCheck"},
		By: "id", Answer: "NoSuchHealthCheck"},
	// An alias to the load balancer the AWS load balancer controller made for a Service.
	{From: "aws:route53/record:Record", Path: "aliases.name", To: []string{"kubernetes:core/v1:Service"},
		By:     "status.loadBalancer.ingress[*].hostname",
		Answer: "InvalidChangeBatch: Tried to create an alias that targets a name that does not exist"},
	{From: "aws:appautoscaling/target:Target", Path: "resourceId", To: []string{"aws:rds/cluster:Cluster"},
		By: "clusterIdentifier", Prefix: "cluster:", Answer: "ValidationException: DB cluster not found"},
	{From: "aws:appautoscaling/policy:Policy", Path: "resourceId", To: []string{"aws:appautoscaling/target:Target"},
		By: "resourceId", Answer: "ObjectNotFoundException: No scalable target registered"},
	// IAM refuses a policy whose principal does not exist.
	{From: "aws:iam/role:Role", Path: "assumeRolePolicy", To: []string{iamRole}, By: "arn", Principals: true,
		Answer: "MalformedPolicyDocument: Invalid principal in policy"},
	{From: "aws:*", Path: "policy", To: []string{iamRole}, By: "arn", Principals: true,
		Answer: "MalformedPolicyDocument: Invalid principal in policy"},

	// Kubernetes: a namespaced object needs its namespace.
	{From: "kubernetes:*", Except: []string{HelmRelease, Namespace}, Path: "metadata.namespace",
		To: []string{Namespace, HelmRelease}, By: "namespace", Answer: `namespaces "%s" not found`},
	{From: HelmRelease, Path: "namespace", To: []string{Namespace, HelmRelease}, By: "namespace",
		Unless: "createNamespace", Answer: `create: failed to create: namespaces "%s" not found`},
	// A pod needs its service account, config maps and required secrets, or it is never created.
	{From: "kubernetes:*", Path: "spec.template.spec.serviceAccountName", To: []string{"kubernetes:core/v1:ServiceAccount"},
		By: "metadata.name", Namespaced: true, Answer: `pods "…" is forbidden: error looking up service account %s`},
	{From: "kubernetes:*", Path: "spec.template.spec.containers[*].envFrom[*].configMapRef.name",
		To: []string{"kubernetes:core/v1:ConfigMap"}, By: "metadata.name", Namespaced: true, Unless: "optional",
		Answer: `CreateContainerConfigError: configmap "%s" not found`},
	{From: "kubernetes:*", Path: "spec.template.spec.containers[*].envFrom[*].secretRef.name",
		To: []string{"kubernetes:core/v1:Secret"}, By: "metadata.name", Namespaced: true, Unless: "optional",
		Answer: `CreateContainerConfigError: secret "%s" not found`},
}

// Generic references, for AWS resources: an input that is an ARN or an EC2
// id names exactly one resource, whatever the property.
var (
	ByARN = Rule{From: "aws:*", By: "arn", Answer: "the resource named by this ARN does not exist"}
	ByID  = Rule{From: "aws:*", By: "id", Answer: "InvalidID.NotFound: the id does not exist"}
)

// ec2ID is the shape of EC2 ids (vpc-…, subnet-…, sg-…, lt-…).
var ec2ID = regexp.MustCompile(`^(vpc|subnet|sg|igw|nat|eipalloc|rtb|rtbassoc|vpce|lt|fl)-[0-9a-f]{8,}$`)

// Global tells whether a type's resources belong to the account rather than
// a region: IAM and Route 53, and the global database and datastore that
// secondaries in other regions join by id.
func Global(typ string) bool {
	return strings.HasPrefix(typ, "aws:iam/") || strings.HasPrefix(typ, "aws:route53/") ||
		typ == "aws:rds/globalCluster:GlobalCluster" || typ == "aws:elasticache/globalReplicationGroup:GlobalReplicationGroup"
}

// CRDCharts maps a custom resource's API group to the chart that installs
// its CRD (argoproj.io spans two charts: CRDKinds); until that release is in,
// the API server answers `no matches for kind`. Versions: ../shared/crds.
var CRDCharts = map[string]string{
	"cert-manager.io":       "cert-manager",
	"networking.istio.io":   "base",
	"security.istio.io":     "base",
	"telemetry.istio.io":    "base",
	"monitoring.coreos.com": "kube-prometheus-stack",
}

// CRDKinds maps the kinds of a group that spans charts.
var CRDKinds = map[string]string{
	"argoproj.io/Rollout": "argo-rollouts", "argoproj.io/AnalysisTemplate": "argo-rollouts",
	"argoproj.io/ClusterAnalysisTemplate": "argo-rollouts", "argoproj.io/AnalysisRun": "argo-rollouts",
	"argoproj.io/Experiment":  "argo-rollouts",
	"argoproj.io/Application": "argo-cd", "argoproj.io/AppProject": "argo-cd", "argoproj.io/ApplicationSet": "argo-cd",
}

// CRDRule is the reference of a custom resource to the Helm release that installs its CRD.
var CRDRule = Rule{From: "kubernetes:*", To: []string{HelmRelease}, By: "chart",
	Answer: `no matches for kind "%s": the CRD is not installed (its chart is not released yet)`}

// CRDChart returns the chart that installs the CRD of a Kubernetes type
// ("kubernetes:cert-manager.io/v1:Certificate"), or "" for a built-in kind.
func CRDChart(typ string) string {
	rest, ok := strings.CutPrefix(typ, "kubernetes:")
	if !ok {
		return ""
	}
	gv, kind, _ := strings.Cut(rest, ":")
	group, _, _ := strings.Cut(gv, "/")
	if c := CRDKinds[group+"/"+kind]; c != "" {
		return c
	}
	return CRDCharts[group]
}

func (r *Rule) applies(typ string) bool {
	for _, e := range r.Except {
		if e == typ {
			return false
		}
	}
	if p, ok := strings.CutSuffix(r.From, "*"); ok {
		return strings.HasPrefix(typ, p)
	}
	return r.From == typ
}

// Of returns the references in the inputs of a resource of type typ: the
// rules', the custom resource's CRD chart, and for AWS types every input
// that is an ARN or an EC2 id. Unknown values are no references yet.
func Of(typ string, inputs resource.PropertyMap) []Ref {
	root := resource.NewObjectProperty(inputs)
	ns := ""
	if v := Values(root, "metadata.namespace"); len(v) == 1 {
		ns = v[0].Value
	}
	var out []Ref
	for i := range Rules {
		r := &Rules[i]
		if !r.applies(typ) {
			continue
		}
		if r.Unless != "" && !strings.Contains(r.Path, "[*]") {
			if b := unwrap(inputs[resource.PropertyKey(r.Unless)]); b.IsBool() && b.BoolValue() {
				continue
			}
		}
		for _, v := range Values(root, r.Path) {
			if r.Unless != "" && v.Holder != nil {
				if b := unwrap(v.Holder[resource.PropertyKey(r.Unless)]); b.IsBool() && b.BoolValue() {
					continue
				}
			}
			if r.Principals {
				for _, arn := range principals(v.Value) {
					out = append(out, Ref{Rule: r, Path: v.Path, Value: arn})
				}
				continue
			}
			val, ok := strings.CutPrefix(v.Value, r.Prefix)
			if !ok || val == "" {
				continue
			}
			ref := Ref{Rule: r, Path: v.Path, Value: val}
			if r.Namespaced {
				ref.Namespace = ns
				if val == "default" && r.To[0] == "kubernetes:core/v1:ServiceAccount" {
					continue // every namespace has it
				}
			}
			out = append(out, ref)
		}
	}
	if chart := CRDChart(typ); chart != "" {
		out = append(out, Ref{Rule: &CRDRule, Path: "kind", Value: chart})
	}
	if strings.HasPrefix(typ, "aws:") || typ == eksComponent {
		out = append(out, generic(root, "")...)
	}
	for path, regionInput := range CrossRegion[typ] {
		region := unwrap(inputs[resource.PropertyKey(regionInput)])
		for i := range out {
			if out[i].Path == path && region.IsString() {
				out[i].Region = region.StringValue()
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

// generic finds the ARNs and EC2 ids among the string leaves (tags and
// descriptions are text, not addresses).
func generic(v resource.PropertyValue, path string) []Ref {
	v = unwrap(v)
	var out []Ref
	switch {
	case v.IsString():
		s := v.StringValue()
		switch {
		case strings.HasPrefix(s, "arn:") && strings.Count(s, ":") >= 5:
			out = append(out, Ref{Rule: &ByARN, Path: path, Value: s})
		case ec2ID.MatchString(s):
			out = append(out, Ref{Rule: &ByID, Path: path, Value: s})
		}
	case v.IsArray():
		for i, e := range v.ArrayValue() {
			out = append(out, generic(e, path+"["+itoa(i)+"]")...)
		}
	case v.IsObject():
		for k, e := range v.ObjectValue() {
			if k == "tags" || k == "tagsAll" || k == "description" || k == "__defaults" {
				continue
			}
			out = append(out, generic(e, join(path, string(k)))...)
		}
	}
	return out
}

// principals returns the AWS principals of an IAM policy document that are
// IAM roles (an account root, a service or "*" always exists).
func principals(doc string) []string {
	var d struct {
		Statement json.RawMessage
	}
	if json.Unmarshal([]byte(doc), &d) != nil {
		return nil
	}
	var stmts []map[string]any
	if json.Unmarshal(d.Statement, &stmts) != nil {
		var one map[string]any
		if json.Unmarshal(d.Statement, &one) != nil {
			return nil
		}
		stmts = []map[string]any{one}
	}
	var out []string
	for _, st := range stmts {
		p, _ := st["Principal"].(map[string]any)
		var list []any
		switch a := p["AWS"].(type) {
		case string:
			list = []any{a}
		case []any:
			list = a
		}
		for _, e := range list {
			if s, ok := e.(string); ok && strings.Contains(s, ":role/") {
				out = append(out, s)
			}
		}
	}
	return out
}
