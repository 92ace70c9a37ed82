// Package k8sobj registers custom resources built from typed Go values: the
// typed object is rendered to the plain map Pulumi's CustomResource carries,
// and component tests validate what was registered against the CRDs.
package k8sobj

import (
	"encoding/json"

	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes"
	"github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apiextensions"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Object is a custom resource: typed metadata and a typed spec.
type Object struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   Meta   `json:"metadata"`
	Spec       any    `json:"spec"`
}

// Meta is the part of ObjectMeta the components set.
type Meta struct {
	Name      string            `json:"name"`
	Namespace string            `json:"namespace,omitempty"`
	Labels    map[string]string `json:"labels,omitempty"`
}

// Untyped renders the object as the plain map the API server receives.
func (o Object) Untyped() (map[string]any, error) { return ToUntyped(o) }

// ToUntyped turns a typed value into a plain JSON map.
func ToUntyped(v any) (map[string]any, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	return m, json.Unmarshal(data, &m)
}

// New registers the object as a CustomResource.
func New(ctx *pulumi.Context, name string, obj Object, opts ...pulumi.ResourceOption) (*apiextensions.CustomResource, error) {
	return NewAnnotated(ctx, name, obj, nil, opts...)
}

// NewAnnotated registers the object with annotations that may depend on
// other resources' outputs (a Rollout's pulumi.com/waitFor names its
// Deployment's generation).
func NewAnnotated(ctx *pulumi.Context, name string, obj Object, annotations pulumi.StringMapInput,
	opts ...pulumi.ResourceOption) (*apiextensions.CustomResource, error) {
	spec, err := ToUntyped(obj.Spec)
	if err != nil {
		return nil, err
	}
	md := metav1.ObjectMetaArgs{Name: pulumi.String(obj.Metadata.Name), Labels: pulumi.ToStringMap(obj.Metadata.Labels),
		Annotations: annotations}
	if obj.Metadata.Namespace != "" {
		md.Namespace = pulumi.String(obj.Metadata.Namespace)
	}
	return apiextensions.NewCustomResource(ctx, name, &apiextensions.CustomResourceArgs{
		ApiVersion:  pulumi.String(obj.APIVersion),
		Kind:        pulumi.String(obj.Kind),
		Metadata:    md,
		OtherFields: kubernetes.UntypedArgs{"spec": spec},
	}, opts...)
}
