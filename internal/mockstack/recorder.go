// Package mockstack runs the program under the Pulumi SDK's mock monitor and
// records every resource it registers: type, name, URN, parent, provider,
// protect flag, dependencies and inputs. The unit tests, the whole-stack tests
// and the offline preview all use this one recorder, so what the tests assert
// is what the preview shows.
//
// The recorder answers like an applied stack: every custom resource gets a
// deterministic fake id, an ARN for AWS types and the few computed outputs the
// program reads (see outputs.go). Nothing here talks to AWS.
package mockstack

import (
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/eduai/infra/internal/providercheck"
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/tokens"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Resource is one registered resource as the recorder saw it.
type Resource struct {
	URN      string
	Type     string
	Name     string
	Parent   string // parent URN; "" only for the root stack's direct children in old SDKs
	Provider string // provider URN ("" when the default provider is used)
	Custom   bool
	Protect  bool
	// IgnoreChanges lists the input paths later runs leave alone.
	IgnoreChanges []string
	// CreateTimeout and UpdateTimeout are the customTimeouts ("" unset).
	CreateTimeout, UpdateTimeout string
	// Aliases are the URNs the resource was known by before (pulumi.Aliases),
	// including those it inherits from its parent's aliases, as the engine
	// derives them (pkg/resource/deploy/step_generator.go, generateAliases
	// and inheritedChildAlias, pulumi v3.274.1): a child of a renamed or
	// retyped component keeps its identity.
	Aliases []string
	// Dependencies are the URNs this resource depends on (explicit and through inputs).
	Dependencies []string
	// PropertyDependencies maps an input name to the URNs its value came from.
	PropertyDependencies map[string][]string
	ID                   string
	Inputs               resource.PropertyMap
	// State is what the mock returned: the inputs plus computed outputs.
	State resource.PropertyMap
	// Seq is the registration order.
	Seq int
}

// IsProvider tells whether r is a provider resource (pulumi:providers:<pkg>).
func (r *Resource) IsProvider() bool { return strings.HasPrefix(r.Type, "pulumi:providers:") }

// Recorder implements pulumi.MockResourceMonitor and keeps every registration.
type Recorder struct {
	Project, Stack string

	mu        sync.Mutex
	resources []*Resource
}

var _ pulumi.MockResourceMonitor = (*Recorder)(nil)

// New returns a recorder for the given project and stack.
func New(project, stack string) *Recorder { return &Recorder{Project: project, Stack: stack} }

// RunOption returns the pulumi.RunOption that installs the recorder as the mock monitor.
func (m *Recorder) RunOption() pulumi.RunOption { return pulumi.WithMocks(m.Project, m.Stack, m) }

// Call answers provider function invokes. The program is written to need none
// (availability zones come from config), so any invoke is an error that names it.
func (m *Recorder) Call(args pulumi.MockCallArgs) (resource.PropertyMap, error) {
	return nil, fmt.Errorf("offline run: the program invoked %s; invokes have no answer without AWS", args.Token)
}

// NewResource records the registration and returns a deterministic id and state.
func (m *Recorder) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	rpc := args.RegisterRPC
	r := &Resource{
		Type:   args.TypeToken,
		Name:   args.Name,
		Custom: args.Custom,
		Inputs: args.Inputs,
	}
	if rpc != nil {
		r.Parent = rpc.GetParent()
		r.Protect = rpc.GetProtect()
		r.IgnoreChanges = rpc.GetIgnoreChanges()
		if ct := rpc.GetCustomTimeouts(); ct != nil {
			r.CreateTimeout, r.UpdateTimeout = ct.GetCreate(), ct.GetUpdate()
		}
		r.Aliases = append(r.Aliases, rpc.GetAliasURNs()...)
		for _, a := range rpc.GetAliases() {
			if u := a.GetUrn(); u != "" {
				r.Aliases = append(r.Aliases, u)
			} else if spec := a.GetSpec(); spec != nil {
				name, typ := spec.GetName(), spec.GetType()
				if name == "" {
					name = args.Name
				}
				if typ == "" {
					typ = args.TypeToken
				}
				parent := spec.GetParentUrn()
				if parent == "" && !spec.GetNoParent() {
					parent = rpc.GetParent()
				}
				r.Aliases = append(r.Aliases, m.urn(parent, typ, name))
			}
		}
		r.Dependencies = append([]string(nil), rpc.GetDependencies()...)
		sort.Strings(r.Dependencies)
		if pd := rpc.GetPropertyDependencies(); len(pd) > 0 {
			r.PropertyDependencies = map[string][]string{}
			for k, v := range pd {
				urns := append([]string(nil), v.GetUrns()...)
				sort.Strings(urns)
				r.PropertyDependencies[k] = urns
			}
		}
	}
	r.Provider = providerURN(args.Provider)
	r.URN = m.urn(r.Parent, r.Type, r.Name)
	r.Aliases = append(r.Aliases, m.inheritedAliases(r)...)
	r.ID, r.State = fakeOutputs(r, m.regionOf(r.Provider))

	m.mu.Lock()
	r.Seq = len(m.resources)
	m.resources = append(m.resources, r)
	m.mu.Unlock()
	return r.ID, r.State, nil
}

// inheritedAliases multiplies r's name and own aliases by its parent's
// aliases: for each URN the parent was known by, the child was known by its
// type and name under that parent, the parent's name prefix of the child's
// name replaced by the alias's (the engine's "{name}-details" convention).
func (m *Recorder) inheritedAliases(r *Resource) []string {
	if r.Parent == "" {
		return nil
	}
	m.mu.Lock()
	var parentAliases []string
	for _, p := range m.resources {
		if p.URN == r.Parent {
			parentAliases = p.Aliases
		}
	}
	m.mu.Unlock()
	parentName := resource.URN(r.Parent).Name()
	own := append([]string{r.URN}, r.Aliases...)
	var out []string
	for _, pa := range parentAliases {
		for _, u := range own {
			name, typ := resource.URN(u).Name(), string(resource.URN(u).Type())
			if rest, ok := strings.CutPrefix(name, parentName); ok {
				name = resource.URN(pa).Name() + rest
			}
			out = append(out, m.urn(pa, typ, name))
		}
	}
	return out
}

// urn builds the URN the same way the mock monitor does, so records and the
// program's own URNs agree.
func (m *Recorder) urn(parent, typ, name string) string {
	parentType := tokens.Type("")
	if p := resource.URN(parent); p != "" && p.QualifiedType() != resource.RootStackType {
		parentType = p.QualifiedType()
	}
	return string(resource.NewURN(tokens.QName(m.Stack), tokens.PackageName(m.Project), parentType,
		tokens.Type(typ), name))
}

// providerURN turns a provider reference ("<urn>::<id>") into its URN.
func providerURN(ref string) string {
	if i := strings.LastIndex(ref, "::"); i > 0 {
		return ref[:i]
	}
	return ref
}

func (m *Recorder) regionOf(providerURN string) string {
	if providerURN == "" {
		return defaultRegion
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, r := range m.resources {
		if r.URN == providerURN {
			if v, ok := r.Inputs["region"]; ok && v.IsString() {
				return v.StringValue()
			}
		}
	}
	return defaultRegion
}

// Resources returns the records in registration order.
func (m *Recorder) Resources() []*Resource {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := append([]*Resource(nil), m.resources...)
	sort.Slice(out, func(i, j int) bool { return out[i].Seq < out[j].Seq })
	return out
}

// ByType returns the records of one type token, in registration order.
func (m *Recorder) ByType(typ string) []*Resource {
	var out []*Resource
	for _, r := range m.Resources() {
		if r.Type == typ {
			out = append(out, r)
		}
	}
	return out
}

// ByURN returns the record with that URN, or nil.
func (m *Recorder) ByURN(urn string) *Resource {
	for _, r := range m.Resources() {
		if r.URN == urn {
			return r
		}
	}
	return nil
}

// Named returns the record of the given type and logical name, or nil.
func (m *Recorder) Named(typ, name string) *Resource {
	for _, r := range m.Resources() {
		if r.Type == typ && r.Name == name {
			return r
		}
	}
	return nil
}

// Refusals returns, for every record whose inputs the real provider's Check
// would refuse (internal/providercheck), one line naming the resource's URN,
// the property and the schema rule; nil when the provider accepts them all.
func Refusals(records []*Resource) []string {
	schema := providercheck.Load()
	var out []string
	for _, r := range records {
		if !r.Custom {
			continue
		}
		for _, f := range schema.Check(r.Type, r.Inputs) {
			out = append(out, fmt.Sprintf("%s: %s (provider schema: %s; the AWS provider refuses this at up)",
				r.URN, f.Message, f.Rule))
		}
	}
	sort.Strings(out)
	return out
}

// RefusalError is the error of a run whose inputs the provider would refuse.
type RefusalError struct{ Lines []string }

func (e *RefusalError) Error() string {
	return fmt.Sprintf("%d input(s) the provider would refuse:\n  %s", len(e.Lines), strings.Join(e.Lines, "\n  "))
}

// Err returns a *RefusalError when the provider would refuse an input, else nil.
func (m *Recorder) Err() error {
	if lines := Refusals(m.Resources()); len(lines) > 0 {
		return &RefusalError{Lines: lines}
	}
	return nil
}

// Run runs fn as a Pulumi program under a fresh recorder (an applied stack,
// no config) and returns the recorder with everything fn registered. Like
// the engine, it fails when the provider would refuse an input.
func Run(project, stack string, fn pulumi.RunFunc) (*Recorder, error) {
	rec := New(project, stack)
	if err := pulumi.RunErr(fn, rec.RunOption()); err != nil {
		return rec, err
	}
	return rec, rec.Err()
}

// RunKubernetes runs fn like Run, handing it an option that names a
// Kubernetes provider (as the stack passes the cluster's) for the components fn creates.
func RunKubernetes(fn func(ctx *pulumi.Context, k8s pulumi.ResourceOption) error) (*Recorder, error) {
	return Run("eduai", "test", func(ctx *pulumi.Context) error {
		k, err := kubernetes.NewProvider(ctx, "k8s", &kubernetes.ProviderArgs{Kubeconfig: pulumi.String("{}")})
		if err != nil {
			return err
		}
		return fn(ctx, pulumi.Providers(k))
	})
}

// Children returns the records whose parent is the given URN.
func (m *Recorder) Children(parentURN string) []*Resource {
	var out []*Resource
	for _, r := range m.Resources() {
		if r.Parent == parentURN {
			out = append(out, r)
		}
	}
	return out
}

// String returns a string input of the record, or "" when absent.
func (r *Resource) String(key string) string {
	v, ok := r.Inputs[resource.PropertyKey(key)]
	if !ok || !v.IsString() {
		return ""
	}
	return v.StringValue()
}

// Tags returns the record's tags input.
func (r *Resource) Tags() map[string]string {
	out := map[string]string{}
	v, ok := r.Inputs["tags"]
	if !ok || !v.IsObject() {
		return out
	}
	for k, t := range v.ObjectValue() {
		if t.IsString() {
			out[string(k)] = t.StringValue()
		}
	}
	return out
}

// InputsValue is the inputs as one object value.
func (r *Resource) InputsValue() resource.PropertyValue { return resource.NewObjectProperty(r.Inputs) }

// DependsOnURN tells whether the input key's value came from the resource with that URN.
func (r *Resource) DependsOnURN(key, urn string) bool {
	for _, u := range r.PropertyDependencies[key] {
		if u == urn {
			return true
		}
	}
	return false
}
