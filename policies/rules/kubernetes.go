package rules

import (
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/policyx"
)

const (
	typeHelmRelease        = "kubernetes:helm.sh/v3:Release"
	typePeerAuthentication = "kubernetes:security.istio.io/v1:PeerAuthentication"
	meshRootNamespace      = "istio-system"
)

// checkHelmPinned: a Helm release installs an exact chart version, so a
// deploy never pulls whatever the repository serves that day.
func checkHelmPinned(args policyx.ResourceValidationArgs) error {
	r := args.Resource
	if r.Type != typeHelmRelease {
		return nil
	}
	v, present, known := str(r.Properties, "version")
	if known && (!present || v == "" || v == "latest") {
		args.Manager.ReportViolation(fmt.Sprintf("Helm release %q installs no pinned chart version. Set the exact "+
			"version in the stack config (eduai:addons.charts, eduai:mesh.version).", r.Name), "")
	}
	return nil
}

// checkMeshMTLS: the mesh-wide PeerAuthentication (root namespace) is STRICT.
func checkMeshMTLS(args policyx.ResourceValidationArgs) error {
	r := args.Resource
	if r.Type != typePeerAuthentication {
		return nil
	}
	md, _, _ := object(r.Properties, "metadata")
	if ns, _, _ := str(md, "namespace"); ns != meshRootNamespace {
		return nil
	}
	spec, _, specKnown := object(r.Properties, "spec")
	mtls, _, _ := object(spec, "mtls")
	mode, _, known := str(mtls, "mode")
	if specKnown && known && mode != "STRICT" {
		args.Manager.ReportViolation(fmt.Sprintf("the mesh-wide mTLS mode is %q: workloads accept plaintext. Set "+
			"eduai:mesh.mtls: STRICT once every workload has a sidecar.", mode), "")
	}
	return nil
}
