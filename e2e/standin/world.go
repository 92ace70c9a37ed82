//go:build e2e

package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"

	"github.com/eduai/infra/internal/refs"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// The world is what the stand-ins have created: the model of the AWS
// account and of the clusters' API servers that every stand-in process
// (aws, eks, kubernetes, random) shares, kept as one file per resource in
// $PULUMI_HOME/standin/world (a test's private PULUMI_HOME: one world per
// test). A create or update whose inputs address a resource the world does
// not hold is refused the way AWS or Kubernetes refuses it.

type entry struct {
	URN   string         `json:"urn"`
	Type  string         `json:"type"`
	Scope string         `json:"scope"` // aws:<region>, aws:global, k8s:<cluster>@<region>
	ID    string         `json:"id"`
	State map[string]any `json:"state"`
	// Inputs are what the resource was created with (what Read returns as inputs).
	Inputs map[string]any `json:"inputs"`
}

func (e *entry) state() resource.PropertyMap  { return resource.NewPropertyMapFromMap(e.State) }
func (e *entry) inputs() resource.PropertyMap { return resource.NewPropertyMapFromMap(e.Inputs) }

type world struct {
	dir string

	mu    sync.Mutex
	cache map[string]cached
}

type cached struct {
	mod  int64
	size int64
	e    *entry
}

func standinDir() string {
	home := os.Getenv("PULUMI_HOME")
	if home == "" {
		return ""
	}
	return filepath.Join(home, "standin")
}

func openWorld() *world {
	d := standinDir()
	if d == "" {
		return nil
	}
	dir := filepath.Join(d, "world")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil
	}
	return &world{dir: dir, cache: map[string]cached{}}
}

func (w *world) file(typ, scope, id string) string {
	sum := sha256.Sum256([]byte(typ + "|" + scope + "|" + id))
	return filepath.Join(w.dir, hex.EncodeToString(sum[:12])+".json")
}

// put records a resource (atomically: write, then rename).
func (w *world) put(e *entry) error {
	data, err := json.Marshal(e)
	if err != nil {
		return err
	}
	f := w.file(e.Type, e.Scope, e.ID)
	tmp := f + ".tmp" + fmt.Sprint(os.Getpid())
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, f)
}

func (w *world) remove(typ, scope, id string) { _ = os.Remove(w.file(typ, scope, id)) }

func (w *world) get(typ, scope, id string) *entry {
	for _, e := range w.all() {
		if e.Type == typ && e.Scope == scope && e.ID == id {
			return e
		}
	}
	return nil
}

// all reads every entry (files unchanged since the last read come from the cache).
func (w *world) all() []*entry {
	files, err := os.ReadDir(w.dir)
	if err != nil {
		return nil
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []*entry
	for _, f := range files {
		if !strings.HasSuffix(f.Name(), ".json") {
			continue
		}
		info, err := f.Info()
		if err != nil {
			continue
		}
		if c, ok := w.cache[f.Name()]; ok && c.mod == info.ModTime().UnixNano() && c.size == info.Size() {
			out = append(out, c.e)
			continue
		}
		data, err := os.ReadFile(filepath.Join(w.dir, f.Name()))
		if err != nil {
			continue
		}
		var e entry
		if json.Unmarshal(data, &e) != nil {
			continue
		}
		w.cache[f.Name()] = cached{mod: info.ModTime().UnixNano(), size: info.Size(), e: &e}
		out = append(out, &e)
	}
	return out
}

// scopeOf is where a resource of typ lives for a provider whose scope is s.
func scopeOf(typ, s string) string {
	if refs.Global(typ) {
		return "aws:global"
	}
	return s
}

// exists tells whether the world holds what ref addresses, seen from a
// resource in scope; some things every account or cluster has.
func (w *world) exists(ref refs.Ref, scope string) bool {
	if preexisting(ref) {
		return true
	}
	anyScope := ref.Rule.By == "arn" || strings.HasPrefix(ref.Rule.By, "status.")
	if ref.Region != "" && strings.HasPrefix(scope, "aws:") {
		scope = "aws:" + ref.Region
	}
	for _, e := range w.all() {
		if (anyScope || e.Scope == scopeOf(e.Type, scope)) && ref.Addresses(e.Type, e.ID, e.state()) {
			return true
		}
	}
	return false
}

// awsOwned: ARNs of the aws account (managed policies, EKS access
// policies) and an account's root exist in every account.
var awsOwned = regexp.MustCompile(`^arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:(aws)?:|:root$`)

func preexisting(ref refs.Ref) bool {
	return ref.Rule.By == "arn" && awsOwned.MatchString(ref.Value)
}

// builtinNamespaces exist in every cluster from its start.
var builtinNamespaces = []string{"default", "kube-system", "kube-public", "kube-node-lease"}

// uniqueBy are the inputs that together name a resource of a type in its
// service (an account and region, a cluster): two resources of the type with
// the same ones cannot both exist, AWS answers AlreadyExists. Types not
// listed have no such name (or one Pulumi generates).
var uniqueBy = map[string][]string{
	"aws:eks/cluster:Cluster":                                    {"name"},
	"aws:eks/addon:Addon":                                        {"clusterName", "addonName"},
	"aws:eks/nodeGroup:NodeGroup":                                {"clusterName", "nodeGroupName"},
	"aws:eks/podIdentityAssociation:PodIdentityAssociation":      {"clusterName", "namespace", "serviceAccount"},
	"aws:eks/accessEntry:AccessEntry":                            {"clusterName", "principalArn"},
	"aws:rds/cluster:Cluster":                                    {"clusterIdentifier"},
	"aws:rds/clusterInstance:ClusterInstance":                    {"identifier"},
	"aws:rds/globalCluster:GlobalCluster":                        {"globalClusterIdentifier"},
	"aws:rds/subnetGroup:SubnetGroup":                            {"name"},
	"aws:rds/clusterParameterGroup:ClusterParameterGroup":        {"name"},
	"aws:elasticache/replicationGroup:ReplicationGroup":          {"replicationGroupId"},
	"aws:elasticache/subnetGroup:SubnetGroup":                    {"name"},
	"aws:elasticache/parameterGroup:ParameterGroup":              {"name"},
	"aws:msk/cluster:Cluster":                                    {"clusterName"},
	"aws:mq/broker:Broker":                                       {"brokerName"},
	"aws:s3/bucketV2:BucketV2":                                   {"bucket"},
	"aws:cloudwatch/logGroup:LogGroup":                           {"name"},
	"aws:cloudwatch/metricAlarm:MetricAlarm":                     {"name"},
	"aws:kms/alias:Alias":                                        {"name"},
	"aws:secretsmanager/secret:Secret":                           {"name"},
	"aws:sns/topic:Topic":                                        {"name"},
	"aws:iam/role:Role":                                          {"name"},
	"aws:iam/rolePolicy:RolePolicy":                              {"role", "name"},
	"aws:backup/vault:Vault":                                     {"name"},
	"aws:backup/plan:Plan":                                       {"name"},
	"aws:backup/restoreTestingPlan:RestoreTestingPlan":           {"name"},
	"aws:route53/zone:Zone":                                      {"name"},
	"aws:route53/record:Record":                                  {"zoneId", "name", "type", "setIdentifier"},
	"aws:ec2/securityGroup:SecurityGroup":                        {"vpcId", "name"},
	"aws:appautoscaling/target:Target":                           {"resourceId", "scalableDimension"},
	"aws:backup/restoreTestingSelection:RestoreTestingSelection": {"restoreTestingPlanName", "name"},
}

// nameOf is the physical name the program gave (not one Pulumi generated).
func nameOf(typ string, inputs resource.PropertyMap) string {
	if strings.HasPrefix(typ, "kubernetes:") {
		ns := refs.NamespaceOf(inputs)
		if v := refs.Values(resource.NewObjectProperty(inputs), "metadata.name"); len(v) == 1 {
			return ns + "/" + v[0].Value
		}
		if typ == refs.HelmRelease {
			if v := inputs["name"]; v.IsString() {
				return inputs["namespace"].StringValue() + "/" + v.StringValue()
			}
		}
		return ""
	}
	keys := uniqueBy[typ]
	if len(keys) == 0 {
		return ""
	}
	// The last key names the resource; without it Pulumi generates a name.
	parts := make([]string, len(keys))
	for i, k := range keys {
		if v := inputs[resource.PropertyKey(k)]; v.IsString() {
			parts[i] = v.StringValue()
		}
	}
	if parts[len(parts)-1] == "" {
		return ""
	}
	return strings.Join(parts, "/")
}

// taken returns the entry already holding the physical name, if any.
func (w *world) taken(typ, scope, name string) *entry {
	if name == "" {
		return nil
	}
	for _, e := range w.all() {
		if e.Type == typ && e.Scope == scopeOf(typ, scope) && nameOf(typ, e.inputs()) == name {
			return e
		}
	}
	return nil
}

// failoverClash returns the record that already holds the failover role
// (PRIMARY or SECONDARY) the record urn would take for its zone, name and
// type: Route 53 allows one of each per name, and refuses the change batch
// that would make a second (boto/boto3#1347).
func (w *world) failoverClash(urn string, inputs resource.PropertyMap) *entry {
	key := func(in resource.PropertyMap) string {
		role := refs.Values(resource.NewObjectProperty(in), "failoverRoutingPolicies[*].type")
		if len(role) != 1 || !in["zoneId"].IsString() || !in["name"].IsString() || !in["type"].IsString() {
			return ""
		}
		return in["zoneId"].StringValue() + "|" + in["name"].StringValue() + "|" + in["type"].StringValue() + "|" + role[0].Value
	}
	want := key(inputs)
	if want == "" {
		return nil
	}
	for _, e := range w.all() {
		if e.Type == "aws:route53/record:Record" && e.URN != urn && key(e.inputs()) == want {
			return e
		}
	}
	return nil
}

// plain turns a property map into JSON-able values, secrets redacted: the
// world file is the model's, and secrets never go to disk in plain text.
func plain(m resource.PropertyMap) map[string]any {
	var conv func(v resource.PropertyValue) any
	conv = func(v resource.PropertyValue) any {
		switch {
		case v.IsSecret():
			return "[secret]"
		case v.IsComputed(), v.IsOutput() && !v.OutputValue().Known:
			return nil
		case v.IsOutput():
			return conv(v.OutputValue().Element)
		case v.IsArray():
			out := make([]any, len(v.ArrayValue()))
			for i, e := range v.ArrayValue() {
				out[i] = conv(e)
			}
			return out
		case v.IsObject():
			out := map[string]any{}
			for k, e := range v.ObjectValue() {
				out[string(k)] = conv(e)
			}
			return out
		case v.IsResourceReference():
			return string(v.ResourceReferenceValue().URN)
		}
		return v.V
	}
	out := map[string]any{}
	for k, v := range m {
		out[string(k)] = conv(v)
	}
	return out
}
