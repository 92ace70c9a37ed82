package gitops

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/eduai/infra/internal/crdcheck"
	"github.com/eduai/infra/internal/mockstack"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

const (
	manifests = "https://gitlab.com/eduai/k8s-manifests.git"
	charts    = "https://gitlab.com/eduai/helm-charts.git"
)

func args(autoSync bool) *Args {
	return &Args{ChartVersion: "9.5.17", Repos: []string{manifests, charts}, AutoSync: autoSync, HA: true,
		Reserved: []string{"eduai", "kube-system"},
		Applications: []Application{
			{Name: "learning-analytics", RepoURL: manifests, Path: "apps/learning-analytics/overlays/prod",
				TargetRevision: "main", Namespace: "analytics"},
			{Name: "content-recommender", RepoURL: charts, Chart: "content-recommender", TargetRevision: "1.4.2",
				Namespace: "recommender"},
		}}
}

func run(t *testing.T, a *Args) (*mockstack.Recorder, error) {
	t.Helper()
	return mockstack.RunKubernetes(func(ctx *pulumi.Context, k8s pulumi.ResourceOption) error {
		_, err := New(ctx, "gitops", a, k8s)
		return err
	})
}

func TestArgoCD(t *testing.T) {
	schemas, err := crdcheck.Kinds("Application", "AppProject")
	if err != nil {
		t.Fatal(err)
	}
	for _, autoSync := range []bool{true, false} {
		rec, err := run(t, args(autoSync))
		if err != nil {
			t.Fatal(err)
		}
		rel := rec.Named("kubernetes:helm.sh/v3:Release", "gitops")
		if rel.String("version") != "9.5.17" || rel.String("namespace") != Namespace {
			t.Errorf("release %v", rel.Inputs)
		}
		apps := rec.ByType("kubernetes:argoproj.io/v1alpha1:Application")
		projects := rec.ByType("kubernetes:argoproj.io/v1alpha1:AppProject")
		if len(apps) != 2 || len(projects) != 1 {
			t.Fatalf("%d applications, %d projects", len(apps), len(projects))
		}
		for _, r := range append(apps, projects...) {
			obj := r.Inputs.Mappable()
			kind := obj["kind"].(string)
			if problems := schemas[kind].Validate(obj); len(problems) != 0 {
				t.Errorf("%s %s against its CRD: %v", kind, r.Name, problems)
			}
		}
		spec := apps[0].Inputs.Mappable()["spec"].(map[string]any)
		sync := spec["syncPolicy"].(map[string]any)
		if _, automated := sync["automated"]; automated != autoSync || spec["project"] != Project {
			t.Errorf("autoSync %v: spec %v", autoSync, spec)
		}
		project := projects[0].Inputs.Mappable()["spec"].(map[string]any)
		if len(project["clusterResourceWhitelist"].([]any)) != 0 || len(project["destinations"].([]any)) != 2 {
			t.Errorf("project %v", project)
		}
		if len(rec.ByType("kubernetes:core/v1:Namespace")) != 2 {
			t.Error("the destination namespaces are not the platform's")
		}
	}
}

// A misspelt field fails the CRD check (the check can fail).
func TestApplicationSchemaCatchesTypos(t *testing.T) {
	schemas, err := crdcheck.Kinds("Application")
	if err != nil {
		t.Fatal(err)
	}
	obj, _ := ApplicationFor(args(true).Applications[0], true).Untyped()
	obj["spec"].(map[string]any)["destinaton"] = obj["spec"].(map[string]any)["destination"]
	if problems := schemas["Application"].Validate(obj); len(problems) == 0 {
		t.Error("a misspelt spec field passed the CRD")
	}
}

func TestBadGitOps(t *testing.T) {
	for _, c := range []struct {
		mutate func(*Args)
		want   string
	}{
		{func(a *Args) { a.ChartVersion = "latest" }, `ChartVersion: must be an exact chart version like 9.5.17 (got "latest")`},
		{func(a *Args) { a.Applications[0].RepoURL = "https://github.com/other/repo.git" }, "Applications[learning-analytics].RepoURL: must be one of the project's repos"},
		{func(a *Args) { a.Applications[0].Namespace = "eduai" }, `Applications[learning-analytics].Namespace: must be a DNS label that does not belong to the platform (eduai, kube-system) (got "eduai")`},
		{func(a *Args) { a.Applications[1].Path = "charts/x" }, "Applications[content-recommender].Path: give a path (Git) or a chart (Helm), not both"},
		{func(a *Args) { a.Applications[0].TargetRevision = "HEAD" }, `Applications[learning-analytics].TargetRevision: must name a branch, tag, commit or chart version (got "HEAD")`},
		{func(a *Args) { a.Repos = []string{"ftp://x"} }, `Repos[0]: must be an https:// or git@ URL (got "ftp://x")`},
	} {
		a := args(false)
		c.mutate(a)
		rec, err := run(t, a)
		if err == nil || !strings.Contains(err.Error(), c.want) || len(rec.ByType("kubernetes:helm.sh/v3:Release")) != 0 {
			t.Errorf("got %v, want %q", err, c.want)
		}
	}
}

// Issue #17: a team namespace denies ingress but from itself and the
// namespaces the stack admits (the ingress gateways, Prometheus).
func TestTeamNamespaceIsolated(t *testing.T) {
	a := args(false)
	a.AdmitNamespaces = []string{"istio-ingress", "monitoring"}
	rec, err := run(t, a)
	if err != nil {
		t.Fatal(err)
	}
	var deny, allow int
	for _, p := range rec.ByType("kubernetes:networking.k8s.io/v1:NetworkPolicy") {
		text, _ := json.Marshal(p.Inputs.Mappable())
		s := string(text)
		switch {
		case strings.HasSuffix(p.Name, "-default-deny"):
			if !strings.Contains(s, `"podSelector":{}`) || !strings.Contains(s, `"policyTypes":["Ingress"]`) {
				t.Errorf("%s: %s", p.Name, s)
			}
			deny++
		case strings.HasSuffix(p.Name, "-allow"):
			for _, want := range []string{`{"podSelector":{}}`, `"kubernetes.io/metadata.name":"istio-ingress"`,
				`"kubernetes.io/metadata.name":"monitoring"`} {
				if !strings.Contains(s, want) {
					t.Errorf("%s lacks %s: %s", p.Name, want, s)
				}
			}
			allow++
		}
	}
	if n := len(rec.ByType("kubernetes:core/v1:Namespace")); deny != n || allow != n || n == 0 {
		t.Errorf("%d namespaces, %d default-deny and %d allow policies", n, deny, allow)
	}
}
