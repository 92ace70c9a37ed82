//go:build e2e

package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"

	"github.com/eduai/infra/internal/refs"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"google.golang.org/protobuf/types/known/structpb"
)

// A test tells the stand-ins to fail by writing $PULUMI_HOME/standin/faults.json:
//
//	[{"op": "create", "match": "aws:rds/clusterInstance:ClusterInstance", "nth": 1,
//	  "error": "InsufficientDBInstanceCapacity: ..."},
//	 {"op": "create", "match": "::database-1", "nth": 1, "hang": "after"}]
//
// match is a substring of the URN, or a pattern with * when it has one; nth
// counts the matching calls across every stand-in process (1 = the first).
// error fails the call with that message; hang "before" blocks before the
// resource exists, "after" once it exists (AWS made it, the engine never
// hears back): the call never returns, and the stand-in writes the URN to
// $PULUMI_HOME/standin/hung so the test knows when to kill the CLI.
type fault struct {
	Op    string `json:"op"`
	Match string `json:"match"`
	Nth   int    `json:"nth"`
	Error string `json:"error"`
	Hang  string `json:"hang"`
}

func (f fault) matches(op, urn string) bool {
	if f.Op != op {
		return false
	}
	if !strings.Contains(f.Match, "*") {
		return strings.Contains(urn, f.Match)
	}
	re := "^" + strings.ReplaceAll(regexp.QuoteMeta(f.Match), `\*`, ".*") + "$"
	ok, _ := regexp.MatchString(re, urn)
	return ok
}

// injected returns the fault that applies to this call, counting it.
func injected(op, urn string) *fault {
	dir := standinDir()
	if dir == "" {
		return nil
	}
	data, err := os.ReadFile(filepath.Join(dir, "faults.json"))
	if err != nil {
		return nil
	}
	var faults []fault
	if json.Unmarshal(data, &faults) != nil {
		return nil
	}
	// One lock for the counters of every process.
	lock, err := os.OpenFile(filepath.Join(dir, "faults.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil
	}
	defer lock.Close()
	if syscall.Flock(int(lock.Fd()), syscall.LOCK_EX) != nil {
		return nil
	}
	defer func() { _ = syscall.Flock(int(lock.Fd()), syscall.LOCK_UN) }()
	counts := map[int]int{}
	countFile := filepath.Join(dir, "faults.count")
	if b, err := os.ReadFile(countFile); err == nil {
		_ = json.Unmarshal(b, &counts)
	}
	var hit *fault
	for i := range faults {
		if !faults[i].matches(op, urn) {
			continue
		}
		counts[i]++
		if counts[i] == max(faults[i].Nth, 1) && hit == nil {
			hit = &faults[i]
		}
	}
	if b, err := json.Marshal(counts); err == nil {
		_ = os.WriteFile(countFile, b, 0o644)
	}
	return hit
}

// hang blocks for good, as a call to an API that never answers; the
// process ends when the engine that started it is gone.
func hang(urn string) {
	if dir := standinDir(); dir != "" {
		_ = os.WriteFile(filepath.Join(dir, "hung"), []byte(urn+"\n"), 0o644)
	}
	parent := os.Getppid()
	for {
		time.Sleep(100 * time.Millisecond)
		if os.Getppid() != parent {
			fmt.Fprintln(os.Stderr, "stand-in: the engine is gone; exiting")
			os.Exit(1)
		}
	}
}

// A test changes what AWS holds behind the program's back by writing
// $PULUMI_HOME/standin/drift.json: [{"match": "::network", "type":
// "aws:ec2/vpc:Vpc", "property": "enableDnsHostnames", "value": false}].
// Read (a refresh) then answers the resource's state and inputs with the
// property changed, as AWS would after a change made by hand.
type drift struct {
	Match    string `json:"match"`
	Type     string `json:"type"`
	Property string `json:"property"`
	Value    any    `json:"value"`
}

// drifted returns the drifts that apply to the resource urn of type typ.
func drifted(urn, typ string) []drift {
	dir := standinDir()
	if dir == "" {
		return nil
	}
	data, err := os.ReadFile(filepath.Join(dir, "drift.json"))
	if err != nil {
		return nil
	}
	var all []drift
	if json.Unmarshal(data, &all) != nil {
		return nil
	}
	var out []drift
	for _, d := range all {
		if d.Type == typ && strings.HasSuffix(urn, d.Match) {
			out = append(out, d)
		}
	}
	return out
}

// applyDrift sets each drift's property in the state and the inputs.
func applyDrift(props, inputs *structpb.Struct, ds []drift) (*structpb.Struct, *structpb.Struct, error) {
	state, err := unmarshal(props)
	if err != nil {
		return nil, nil, err
	}
	in, err := unmarshal(inputs)
	if err != nil {
		return nil, nil, err
	}
	for _, d := range ds {
		v := resource.NewPropertyValue(d.Value)
		state[resource.PropertyKey(d.Property)] = v
		if in != nil {
			in[resource.PropertyKey(d.Property)] = v
		}
	}
	if props, err = marshal(state); err != nil {
		return nil, nil, err
	}
	if inputs != nil {
		if inputs, err = marshal(in); err != nil {
			return nil, nil, err
		}
	}
	return props, inputs, nil
}

// A test takes a whole region down by writing $PULUMI_HOME/standin/outage.json:
// {"regions": ["us-west-2"]}. Every call that reaches that region's APIs
// then fails as a call to an unreachable endpoint does: the AWS provider's
// calls for regional resources (IAM, Route 53 and the other global services
// answer from elsewhere: refs.Global), and a Kubernetes provider's calls to
// a cluster whose API server is in the region. Check and Diff are the
// providers' own work and still answer.
type outage struct {
	Regions []string `json:"regions"`
}

// eksRegion finds the region in an EKS API server's address.
var eksRegion = regexp.MustCompile(`\.([a-z]{2}(?:-[a-z]+)+-\d)\.eks\.amazonaws\.com`)

// down fails a call this provider would make into a region that is down.
func (p *standin) down(typ string) error {
	dir := standinDir()
	if dir == "" {
		return nil
	}
	data, err := os.ReadFile(filepath.Join(dir, "outage.json"))
	if err != nil {
		return nil
	}
	var o outage
	if json.Unmarshal(data, &o) != nil {
		return nil
	}
	region, endpoint := "", ""
	switch p.pkg {
	case "aws":
		if refs.Global(typ) {
			return nil
		}
		region = p.region
		if region == "" {
			region = "us-west-2"
		}
		endpoint = strings.SplitN(strings.TrimPrefix(typ, "aws:"), "/", 2)[0] + "." + region + ".amazonaws.com"
	case "kubernetes":
		region, endpoint = p.clusterRegion, p.cluster+" API server"
	default:
		return nil
	}
	for _, r := range o.Regions {
		if r == region {
			return fmt.Errorf("RequestError: send request failed: dial tcp: lookup %s: i/o timeout (%s is down)", endpoint, region)
		}
	}
	return nil
}
