package service

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/eduai/infra/internal/crdcheck"
	"github.com/eduai/infra/internal/mockstack"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

var now = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

func baseArgs(strategy Strategy) *Args {
	return &Args{Name: "content-service", Namespace: "eduai", Repository: "registry.gitlab.com/eduai/content-service",
		Tag: "v1.2.0", Strategy: strategy, Port: 8080,
		Autoscaling: &Autoscaling{Min: 3, Max: 20, CPUPercent: 70, MemoryPercent: 80},
		Resources:   Resources{RequestCPU: "500m", RequestMemory: "1Gi", LimitCPU: "1", LimitMemory: "2Gi"},
		Env:         map[string]string{"LOG_LEVEL": "info"},
		Connections: map[string]pulumi.StringInput{"DATABASE_HOST": pulumi.String("db.internal")},
		Ingress:     &Ingress{Host: "api.eduai.com", Path: "/api/v1/content", Issuer: "letsencrypt-prod", RateLimitRPS: 1000},
		Mesh:        true, Monitoring: true,
		PrometheusURL: "http://kube-prometheus-stack-prometheus.monitoring.svc.cluster.local:9090",
		BlueGreen:     BlueGreenArgs{ActiveColor: Blue, BlueTag: "v1.2.0", GreenTag: "v1.3.0", Now: now},
	}
}

func run(t *testing.T, args *Args) *mockstack.Recorder {
	t.Helper()
	rec, err := mockstack.RunKubernetes(func(ctx *pulumi.Context, k8s pulumi.ResourceOption) error {
		_, err := New(ctx, "svc", args, k8s)
		return err
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return rec
}

func m(v any) map[string]any { return v.(map[string]any) }

func obj(r *mockstack.Resource) map[string]any { return r.Inputs.Mappable() }

func spec(r *mockstack.Resource) map[string]any { return m(obj(r)["spec"]) }

// Every custom resource is valid against its CRD.
func checkCRDs(t *testing.T, rec *mockstack.Recorder) map[string]int {
	t.Helper()
	kinds := map[string]int{}
	for _, r := range rec.Resources() {
		if !strings.Contains(r.Type, ".istio.io/") && !strings.Contains(r.Type, "argoproj.io/") &&
			!strings.Contains(r.Type, "monitoring.coreos.com/") {
			continue
		}
		o := obj(r)
		kind := o["kind"].(string)
		kinds[kind]++
		schemas, err := crdcheck.Kinds(kind)
		if err != nil {
			t.Fatal(err)
		}
		if p := schemas[kind].Validate(o); len(p) != 0 {
			t.Errorf("%s %s against its CRD: %v", kind, r.Name, p)
		}
	}
	return kinds
}

func container(t *testing.T, d *mockstack.Resource) map[string]any {
	t.Helper()
	pod := m(m(spec(d)["template"])["spec"])
	return m(pod["containers"].([]any)[0])
}

func TestRolling(t *testing.T) {
	args := baseArgs(Rolling)
	args.Name = "auth-service"
	rec := run(t, args)
	deps := rec.ByType("kubernetes:apps/v1:Deployment")
	if len(deps) != 1 {
		t.Fatalf("%d deployments", len(deps))
	}
	s := spec(deps[0])
	ru := m(m(s["strategy"])["rollingUpdate"])
	if ru["maxSurge"] != "25%" || ru["maxUnavailable"] != "25%" || s["progressDeadlineSeconds"] != float64(600) ||
		s["revisionHistoryLimit"] != float64(10) {
		t.Errorf("rolling update %v", s)
	}
	if _, set := s["replicas"]; set {
		t.Error("replicas set although the HPA owns them")
	}
	c := container(t, deps[0])
	probes := map[string][]any{
		"startupProbe":   {"/startup", nil, float64(10), float64(30)},
		"livenessProbe":  {"/health", float64(30), float64(10), float64(3)},
		"readinessProbe": {"/ready", float64(5), float64(5), float64(3)},
	}
	for name, want := range probes {
		p := m(c[name])
		got := []any{m(p["httpGet"])["path"], p["initialDelaySeconds"], p["periodSeconds"], p["failureThreshold"]}
		if !slices.Equal(got, want) {
			t.Errorf("%s: %v, want %v", name, got, want)
		}
	}
	sc := m(c["securityContext"])
	if sc["runAsNonRoot"] != true || sc["readOnlyRootFilesystem"] != true || sc["privileged"] != false ||
		sc["allowPrivilegeEscalation"] != false {
		t.Errorf("security context %v", sc)
	}
	res := m(c["resources"])
	if m(res["requests"])["cpu"] != "500m" || m(res["limits"])["memory"] != "2Gi" {
		t.Errorf("resources %v", res)
	}
	if c["image"] != "registry.gitlab.com/eduai/content-service:v1.2.0" {
		t.Errorf("image %v", c["image"])
	}
	hpa := spec(rec.ByType("kubernetes:autoscaling/v2:HorizontalPodAutoscaler")[0])
	if hpa["minReplicas"] != float64(3) || hpa["maxReplicas"] != float64(20) ||
		m(hpa["scaleTargetRef"])["kind"] != "Deployment" || len(hpa["metrics"].([]any)) != 2 {
		t.Errorf("hpa %v", hpa)
	}
	pdb := spec(rec.ByType("kubernetes:policy/v1:PodDisruptionBudget")[0])
	if pdb["minAvailable"] != float64(2) {
		t.Errorf("pdb %v", pdb)
	}
	// With the mesh, the public path goes through the gateway, not ingress-nginx.
	if n := len(rec.ByType("kubernetes:networking.k8s.io/v1:Ingress")); n != 0 {
		t.Errorf("%d ingresses with the mesh", n)
	}
	if kinds := checkCRDs(t, rec); kinds["ServiceMonitor"] != 1 {
		t.Errorf("custom resources %v", kinds)
	}
}

func TestNoPDBWhereItWouldBlockDrains(t *testing.T) {
	args := baseArgs(Rolling)
	args.Autoscaling, args.Replicas = nil, 1
	if n := len(run(t, args).ByType("kubernetes:policy/v1:PodDisruptionBudget")); n != 0 {
		t.Errorf("a PDB over one pod")
	}
	args.Replicas = 2
	rec := run(t, args)
	pdb := spec(rec.ByType("kubernetes:policy/v1:PodDisruptionBudget")[0])
	if pdb["maxUnavailable"] != float64(1) || pdb["minAvailable"] != nil {
		t.Errorf("PDB over 2 pods: %v", pdb)
	}
	if r := spec(rec.ByType("kubernetes:apps/v1:Deployment")[0])["replicas"]; r != float64(2) {
		t.Errorf("replicas %v", r)
	}
	if n := len(rec.ByType("kubernetes:autoscaling/v2:HorizontalPodAutoscaler")); n != 0 {
		t.Error("HPA without autoscaling")
	}
}

func TestIngressWithoutMesh(t *testing.T) {
	args := baseArgs(Rolling)
	args.Mesh = false
	rec := run(t, args)
	ing := rec.ByType("kubernetes:networking.k8s.io/v1:Ingress")
	if len(ing) != 1 {
		t.Fatalf("%d ingresses", len(ing))
	}
	ann := m(m(obj(ing[0])["metadata"])["annotations"])
	if ann["cert-manager.io/cluster-issuer"] != "letsencrypt-prod" || ann["nginx.ingress.kubernetes.io/limit-rps"] != "1000" {
		t.Errorf("annotations %v", ann)
	}
}

func weights(t *testing.T, rec *mockstack.Recorder) map[string]float64 {
	t.Helper()
	vs := rec.Named("kubernetes:networking.istio.io/v1:VirtualService", "svc-routes")
	out := map[string]float64{}
	for _, route := range spec(vs)["http"].([]any) {
		for _, d := range m(route)["route"].([]any) {
			out[m(m(d)["destination"])["subset"].(string)] = m(d)["weight"].(float64)
		}
	}
	return out
}

func TestBlueGreen(t *testing.T) {
	for _, c := range []struct {
		active       Color
		blue, green  float64
		activeImage  string
		idleReplicas any
	}{
		{Blue, 100, 0, "v1.2.0", float64(3)},
		{Green, 0, 100, "v1.3.0", float64(3)},
	} {
		args := baseArgs(BlueGreen)
		args.BlueGreen.ActiveColor = c.active
		args.Migration = &Migration{Command: []string{"/app/migrate", "up"}}
		rec := run(t, args)
		w := weights(t, rec)
		if w[string(Blue)] != c.blue || w[string(Green)] != c.green {
			t.Errorf("active %s: weights %v", c.active, w)
		}
		active := rec.Named("kubernetes:apps/v1:Deployment", "svc-"+string(c.active))
		if container(t, active)["image"] != "registry.gitlab.com/eduai/content-service:"+c.activeImage {
			t.Errorf("active image %v", container(t, active)["image"])
		}
		if m(m(m(spec(active)["template"])["metadata"])["labels"])["version"] != string(c.active) {
			t.Error("pods not labelled with their color")
		}
		idleDep := rec.Named("kubernetes:apps/v1:Deployment", "svc-"+string(idle(c.active)))
		if spec(idleDep)["replicas"] != c.idleReplicas {
			t.Errorf("idle replicas %v", spec(idleDep)["replicas"])
		}
		preview := rec.Named("kubernetes:core/v1:Service", "svc-preview")
		if m(spec(preview)["selector"])["version"] != string(idle(c.active)) {
			t.Errorf("preview selects %v", spec(preview)["selector"])
		}
		// The switch waits for the smoke test of the color about to serve.
		smoke := rec.Named("kubernetes:batch/v1:Job", "svc-smoke")
		vs := rec.Named("kubernetes:networking.istio.io/v1:VirtualService", "svc-routes")
		if !slices.Contains(vs.Dependencies, smoke.URN) {
			t.Error("the route switch does not wait for the smoke test")
		}
		jobName := m(obj(smoke)["metadata"])["name"].(string)
		if !strings.Contains(jobName, string(c.active)) || !strings.Contains(jobName, strings.ReplaceAll(c.activeImage, ".", "-")) {
			t.Errorf("smoke job name %s", jobName)
		}
		// Issue #19, item 2: in the mesh the smoke test has a sidecar (STRICT
		// mTLS refuses a plain-text caller) that exits with it (native
		// sidecar), runs as the account the ALLOW policy names, and starts
		// once the color it tests is rolled out at its full size.
		pod := m(m(spec(smoke)["template"])["metadata"])
		if m(pod["labels"])["sidecar.istio.io/inject"] != "true" || m(pod["annotations"])["sidecar.istio.io/nativeSidecar"] != "true" ||
			m(pod["annotations"])["sidecar.istio.io/inject"] != nil {
			t.Errorf("the smoke test Job is not in the mesh with a native sidecar: %v", pod)
		}
		if sa := m(m(spec(smoke)["template"])["spec"])["serviceAccountName"]; sa != SmokeAccount("content-service") ||
			SmokeCaller("eduai", "content-service") != "eduai/"+sa.(string) {
			t.Errorf("smoke account %v", sa)
		}
		if !slices.Contains(smoke.Dependencies, active.URN) {
			t.Error("the smoke test does not wait for the color it tests")
		}
		if slices.Contains(smoke.Dependencies, idleDep.URN) {
			t.Error("the smoke test waits for the other color")
		}
		// Both colors carry their replicas: server-side apply never drops the
		// field to its default of 1 at a switch.
		if spec(active)["replicas"] != float64(3) {
			t.Errorf("active replicas %v", spec(active)["replicas"])
		}
		mig := rec.Named("kubernetes:batch/v1:Job", "svc-migrate")
		if mig == nil || m(m(m(spec(mig)["template"])["metadata"])["annotations"])["sidecar.istio.io/inject"] != "false" {
			t.Error("the migration Job gets a sidecar")
		}
		hpa := spec(rec.ByType("kubernetes:autoscaling/v2:HorizontalPodAutoscaler")[0])
		if m(hpa["scaleTargetRef"])["name"] != "content-service-"+string(c.active) {
			t.Errorf("HPA targets %v", hpa["scaleTargetRef"])
		}
		// After the switch the serving color is measured, and Pulumi waits for the verdict.
		run := rec.Named("kubernetes:argoproj.io/v1alpha1:AnalysisRun", "svc-analysis")
		if run == nil || !slices.Contains(run.Dependencies, vs.URN) ||
			m(m(obj(run)["metadata"])["annotations"])[WaitForAnnotation] != AnalysisRunWaitFor || run.UpdateTimeout != "10m0s" {
			t.Fatalf("no awaited analysis of the switch: %v", run)
		}
		if fmt.Sprint(m(spec(run)["args"].([]any)[1])["value"]) != "content-service-"+string(c.active) {
			t.Errorf("the analysis measures %v", spec(run)["args"])
		}
		if kinds := checkCRDs(t, rec); kinds["VirtualService"] != 1 || kinds["DestinationRule"] != 1 || kinds["AnalysisRun"] != 1 {
			t.Errorf("custom resources %v", kinds)
		}
	}
}

func TestBlueGreenIdleScalesToZeroAfterKeepUntil(t *testing.T) {
	args := baseArgs(BlueGreen)
	args.BlueGreen.KeepIdleUntil = now.Add(-time.Hour)
	rec := run(t, args)
	if r := spec(rec.Named("kubernetes:apps/v1:Deployment", "svc-green"))["replicas"]; r != float64(0) {
		t.Errorf("idle replicas after keep-until: %v", r)
	}
	args.BlueGreen.KeepIdleUntil = now.Add(time.Hour)
	rec = run(t, args)
	if r := spec(rec.Named("kubernetes:apps/v1:Deployment", "svc-green"))["replicas"]; r != float64(3) {
		t.Errorf("idle replicas before keep-until: %v", r)
	}
}

// Without the mesh (dev) the Service's selector is the switch.
func TestBlueGreenWithoutMesh(t *testing.T) {
	for _, active := range []Color{Blue, Green} {
		args := baseArgs(BlueGreen)
		args.Mesh, args.Monitoring, args.BlueGreen.ActiveColor = false, false, active
		rec := run(t, args)
		if n := len(rec.ByType("kubernetes:networking.istio.io/v1:VirtualService")); n != 0 {
			t.Errorf("%d virtual services without the mesh", n)
		}
		main := rec.Named("kubernetes:core/v1:Service", "svc")
		if m(spec(main)["selector"])["version"] != string(active) {
			t.Errorf("service selects %v with %s active", spec(main)["selector"], active)
		}
		smoke := rec.Named("kubernetes:batch/v1:Job", "svc-smoke")
		if !slices.Contains(main.Dependencies, smoke.URN) {
			t.Error("the selector switch does not wait for the smoke test")
		}
		// No mesh: no sidecar to wait for.
		if a := m(m(m(spec(smoke)["template"])["metadata"])["annotations"]); a["sidecar.istio.io/inject"] != "false" || a["sidecar.istio.io/nativeSidecar"] != nil {
			t.Errorf("smoke test annotations without the mesh %v", a)
		}
	}
}

func TestCanary(t *testing.T) {
	rec := run(t, baseArgs(Canary))
	rollout := rec.Named("kubernetes:argoproj.io/v1alpha1:Rollout", "svc-rollout")
	c := m(m(spec(rollout)["strategy"])["canary"])
	var steps []string
	for _, s := range c["steps"].([]any) {
		for k, v := range m(s) {
			if k == "pause" {
				v = m(v)["duration"]
			}
			steps = append(steps, k+"="+fmt.Sprint(v))
		}
	}
	want := []string{"setWeight=5", "pause=5m", "setWeight=25", "pause=10m", "setWeight=50", "pause=15m",
		"setWeight=75", "pause=10m"}
	if !slices.Equal(steps, want) {
		t.Errorf("steps %v, want %v", steps, want)
	}
	if c["maxSurge"] != "25%" || c["maxUnavailable"] != float64(0) {
		t.Errorf("surge %v unavailable %v", c["maxSurge"], c["maxUnavailable"])
	}
	an := m(c["analysis"])
	if m(an["templates"].([]any)[0])["templateName"] != "content-service-analysis" {
		t.Errorf("analysis %v", an)
	}
	// Host-level splitting: no DestinationRule subsets; the routes weigh the two Services.
	istio := m(m(c["trafficRouting"])["istio"])
	if istio["destinationRule"] != nil || m(istio["virtualService"])["name"] != "content-service" ||
		c["canaryService"] != "content-service-canary" || c["stableService"] != "content-service-stable" {
		t.Errorf("traffic routing %v", c)
	}
	if ref := m(spec(rollout)["workloadRef"]); ref["kind"] != "Deployment" || ref["name"] != "content-service" {
		t.Errorf("workloadRef %v", ref)
	}
	if r := spec(rec.ByType("kubernetes:apps/v1:Deployment")[0])["replicas"]; r != float64(0) {
		t.Errorf("the template Deployment runs %v pods", r)
	}
	hpa := spec(rec.ByType("kubernetes:autoscaling/v2:HorizontalPodAutoscaler")[0])
	if ref := m(hpa["scaleTargetRef"]); ref["kind"] != "Rollout" || ref["apiVersion"] != "argoproj.io/v1alpha1" {
		t.Errorf("HPA targets %v", ref)
	}
	// Argo Rollouts owns the weights, the subsets' labels and the canary/stable selectors.
	vs := rec.Named("kubernetes:networking.istio.io/v1:VirtualService", "svc-routes")
	if !slices.Contains(vs.IgnoreChanges, "spec.http[0].route") || !slices.Contains(vs.IgnoreChanges, "spec.http[1].route") {
		t.Errorf("virtual service ignores %v", vs.IgnoreChanges)
	}
	for _, r := range m(spec(vs)["http"].([]any)[0])["route"].([]any) {
		d := m(m(r)["destination"])
		if d["subset"] != nil || (d["host"] == "content-service-stable") != (m(r)["weight"] == float64(100)) {
			t.Errorf("route destination %v", r)
		}
	}
	if s := rec.Named("kubernetes:core/v1:Service", "svc-canary"); !slices.Contains(s.IgnoreChanges, "spec.selector") {
		t.Errorf("canary service ignores %v", s.IgnoreChanges)
	}
	kinds := checkCRDs(t, rec)
	if kinds["Rollout"] != 1 || kinds["AnalysisTemplate"] != 1 || kinds["VirtualService"] != 1 || kinds["DestinationRule"] != 0 {
		t.Errorf("custom resources %v", kinds)
	}
}

// The template takes the namespace and the two Services, waits one rate
// window before measuring, and carries the guarded conditions; the Rollout
// passes exactly those arguments and analyses from the first pause on.
func TestAnalysisTemplate(t *testing.T) {
	at := AnalysisTemplateFor(baseArgs(Canary))
	s := at.Spec.(AnalysisTemplateSpec)
	var args []string
	for _, a := range s.Args {
		args = append(args, a.Name)
	}
	if fmt.Sprint(args) != "[namespace canary-service stable-service]" {
		t.Errorf("template args %v", args)
	}
	conds := AnalysisConditions()
	for _, metric := range s.Metrics {
		c := conds[metric.Name]
		if metric.SuccessCondition != c[0] || metric.FailureCondition != c[1] || !strings.HasPrefix(c[0], "len(result) > 0 && ") {
			t.Errorf("%s: conditions %q / %q", metric.Name, metric.SuccessCondition, metric.FailureCondition)
		}
		if metric.InitialDelay != "2m" || metric.Interval != "1m" || metric.FailureLimit != 1 {
			t.Errorf("%s: delay %q interval %q failure limit %d", metric.Name, metric.InitialDelay, metric.Interval, metric.FailureLimit)
		}
	}
	rec := run(t, baseArgs(Canary))
	an := m(m(m(spec(rec.Named("kubernetes:argoproj.io/v1alpha1:Rollout", "svc-rollout"))["strategy"])["canary"])["analysis"])
	passed := map[string]any{}
	for _, a := range an["args"].([]any) {
		passed[m(a)["name"].(string)] = m(a)["value"]
	}
	if fmt.Sprint(passed) != "map[canary-service:content-service-canary namespace:eduai stable-service:content-service-stable]" {
		t.Errorf("the Rollout passes %v", passed)
	}
	// startingStep indexes the steps: 1 is the pause after setWeight 5, so the 5 % stage is analysed.
	steps := CanarySteps()
	if i := int(an["startingStep"].(float64)); i != 1 || steps[i].Pause == nil || *steps[i-1].SetWeight != 5 {
		t.Errorf("analysis starts at step %v", an["startingStep"])
	}
}

// Dev: no mesh, no Prometheus: the canary moves by replica weights, without analysis.
func TestCanaryWithoutMeshOrMonitoring(t *testing.T) {
	args := baseArgs(Canary)
	args.Mesh, args.Monitoring, args.Autoscaling, args.Replicas = false, false, nil, 2
	rec := run(t, args)
	c := m(m(spec(rec.Named("kubernetes:argoproj.io/v1alpha1:Rollout", "svc-rollout"))["strategy"])["canary"])
	if _, ok := c["trafficRouting"]; ok {
		t.Error("traffic routing without the mesh")
	}
	if _, ok := c["analysis"]; ok {
		t.Error("analysis without Prometheus")
	}
	if n := len(rec.ByType("kubernetes:argoproj.io/v1alpha1:AnalysisTemplate")) + len(rec.ByType("kubernetes:monitoring.coreos.com/v1:ServiceMonitor")); n != 0 {
		t.Errorf("%d monitoring resources without monitoring", n)
	}
	if r := spec(rec.Named("kubernetes:argoproj.io/v1alpha1:Rollout", "svc-rollout"))["replicas"]; r != float64(2) {
		t.Errorf("rollout replicas %v", r)
	}
	checkCRDs(t, rec)
}

func TestMigrationRunsFirst(t *testing.T) {
	for _, strategy := range Strategies {
		args := baseArgs(strategy)
		args.Migration = &Migration{Command: []string{"/app/migrate", "up"}}
		rec := run(t, args)
		job := rec.Named("kubernetes:batch/v1:Job", "svc-migrate")
		if job == nil {
			t.Fatalf("%s: no migration job", strategy)
		}
		name := m(obj(job)["metadata"])["name"].(string)
		if name != "content-service-migrate-v1-2-0" {
			t.Errorf("job name %s does not follow the version", name)
		}
		c := container(t, job)
		if c["image"] != "registry.gitlab.com/eduai/content-service:v1.2.0" || c["command"].([]any)[0] != "/app/migrate" {
			t.Errorf("job container %v", c)
		}
		for _, d := range rec.ByType("kubernetes:apps/v1:Deployment") {
			if !slices.Contains(d.Dependencies, job.URN) {
				t.Errorf("%s: %s does not wait for the migration", strategy, d.Name)
			}
		}
	}
}

func TestBadArgs(t *testing.T) {
	for _, c := range []struct {
		mutate func(*Args)
		want   string
	}{
		{func(a *Args) { a.Strategy = "recreate" }, `Strategy: must be one of rolling, blueGreen, canary (got "recreate")`},
		{func(a *Args) { a.Tag = "v1 2" }, `Tag: must be an image tag (got "v1 2")`},
		{func(a *Args) { a.Resources.LimitMemory = "2 GB" }, `Resources.LimitMemory: must be a Kubernetes quantity like 500m or 2Gi (got "2 GB")`},
		{func(a *Args) { a.Autoscaling.Max = 1 }, "Autoscaling"},
		{func(a *Args) { a.Isolation = &Isolation{Callers: []string{"auth"}} }, `Isolation.Callers[0]: must be namespace/serviceAccount (got "auth")`},
		{func(a *Args) { a.Ingress.Path = "api" }, `Ingress.Path: must be a path like /api/v1/content (got "api")`},
		{func(a *Args) { a.Strategy, a.BlueGreen.ActiveColor = BlueGreen, "red" }, `BlueGreen.ActiveColor: must be one of blue, green (got "red")`},
		{func(a *Args) { a.Strategy, a.PrometheusURL = Canary, "" }, "PrometheusURL"},
	} {
		args := baseArgs(Rolling)
		c.mutate(args)
		rec, err := mockstack.Run("eduai", "test", func(ctx *pulumi.Context) error {
			_, err := New(ctx, "svc", args)
			return err
		})
		if err == nil || !strings.Contains(err.Error(), c.want) || len(rec.Resources()) != 0 {
			t.Errorf("got %v, want %q", err, c.want)
		}
	}
}

func TestController(t *testing.T) {
	rec, err := mockstack.RunKubernetes(func(ctx *pulumi.Context, k8s pulumi.ResourceOption) error {
		_, err := NewController(ctx, "rollouts", "2.41.1", 2, nil, k8s)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	rel := rec.ByType("kubernetes:helm.sh/v3:Release")[0]
	values := m(rel.Inputs["values"].Mappable())
	if rel.String("version") != "2.41.1" || rel.String("chart") != "argo-rollouts" || values["installCRDs"] != true ||
		values["keepCRDs"] != true || m(values["controller"])["replicas"] != float64(2) {
		t.Errorf("release %v", rel.Inputs)
	}
	if _, err := mockstack.RunKubernetes(func(ctx *pulumi.Context, k8s pulumi.ResourceOption) error {
		_, err := NewController(ctx, "rollouts", "2.41", 2, nil, k8s)
		return err
	}); err == nil || !strings.Contains(err.Error(), `version "2.41"`) {
		t.Errorf("inexact version: %v", err)
	}
}

// Behind the mesh a rolling service gets a VirtualService too: from the
// gateway only its ingress path (and /health on its hosts when it answers
// the DNS health check), from the sidecars everything.
func TestMeshRoutes(t *testing.T) {
	args := baseArgs(Rolling)
	args.Ingress.Aliases, args.Ingress.Health = []string{"us-west-2.api.eduai.com"}, true
	rec := run(t, args)
	if kinds := checkCRDs(t, rec); kinds["VirtualService"] != 1 {
		t.Fatalf("custom resources %v", kinds)
	}
	vs := spec(rec.Named("kubernetes:networking.istio.io/v1:VirtualService", "svc-routes"))
	if hosts := fmt.Sprint(vs["hosts"]); hosts != "[content-service api.eduai.com us-west-2.api.eduai.com]" {
		t.Errorf("hosts %s", hosts)
	}
	routes := map[string]map[string]any{}
	for _, r := range vs["http"].([]any) {
		routes[m(r)["name"].(string)] = m(r)
	}
	match := func(name string) map[string]any { return m(routes[name]["match"].([]any)[0]) }
	if uri := m(match("public")["uri"]); uri["prefix"] != "/api/v1/content" || fmt.Sprint(match("public")["gateways"]) != "["+Gateway+"]" {
		t.Errorf("public route %v", routes["public"])
	}
	if uri := m(match("health")["uri"]); uri["exact"] != "/health" || fmt.Sprint(match("health")["gateways"]) != "["+Gateway+"]" {
		t.Errorf("health route %v", routes["health"])
	}
	// The catch-all answers the sidecars only, so the gateway cannot reach other paths.
	if fmt.Sprint(match("primary")["gateways"]) != "[mesh]" {
		t.Errorf("primary route %v", routes["primary"])
	}
	dest := m(m(routes["primary"]["route"].([]any)[0])["destination"])
	if dest["host"] != "content-service" || dest["subset"] != nil {
		t.Errorf("destination %v", dest)
	}

	// A canary's health route is one Argo Rollouts weighs with the others.
	canary := baseArgs(Canary)
	canary.Ingress.Health = true
	rollout := spec(run(t, canary).Named("kubernetes:argoproj.io/v1alpha1:Rollout", "svc-rollout"))
	routesWeighed := m(m(m(m(rollout["strategy"])["canary"])["trafficRouting"])["istio"])
	if got := fmt.Sprint(m(routesWeighed["virtualService"])["routes"]); got != "[public health primary]" {
		t.Errorf("weighed routes %s", got)
	}

	// Without the mesh the nginx Ingress carries the aliases and /health.
	args.Mesh = false
	ing := spec(run(t, args).ByType("kubernetes:networking.k8s.io/v1:Ingress")[0])
	if rules := ing["rules"].([]any); len(rules) != 2 || len(m(m(rules[1])["http"])["paths"].([]any)) != 2 {
		t.Errorf("ingress rules %v", rules)
	}
}

// Issue #17: in a namespace that denies everything, a service is open to
// its declared callers, its ingress controller and Prometheus, and reaches
// DNS, istiod, the data stores, the Pod Identity agent and AWS APIs; its
// Jobs carry the label the policy selects by; containers bound their
// ephemeral storage.
func TestNetworkPolicy(t *testing.T) {
	args := baseArgs(Rolling)
	args.Name, args.Mesh, args.Migration = "auth-service", true, &Migration{Command: []string{"/app/migrate", "up"}}
	args.Isolation = &Isolation{Callers: []string{"istio-ingress/istio-ingress", "eduai/content-service"},
		IngressNamespace: "istio-ingress", ScrapeNamespace: "monitoring", DataStoreCIDRs: []string{"10.30.0.0/16"},
		MeshNamespace: "istio-system", CollectorNamespace: "monitoring"}
	rec := run(t, args)
	np := rec.Named("kubernetes:networking.k8s.io/v1:NetworkPolicy", "svc")
	if np == nil {
		t.Fatal("no NetworkPolicy")
	}
	text, _ := json.Marshal(spec(np))
	s := string(text)
	for _, want := range []string{
		`"podSelector":{"matchLabels":{"eduai.com/service":"auth-service"}}`,
		`{"podSelector":{"matchLabels":{"eduai.com/service":"content-service"}}}`,
		`{"namespaceSelector":{"matchLabels":{"kubernetes.io/metadata.name":"istio-ingress"}}}`,
		`"ports":[{"port":8080,"protocol":"TCP"},{"port":15090,"protocol":"TCP"}`,
		`"ports":[{"port":53,"protocol":"UDP"},{"port":53,"protocol":"TCP"}],"to":[{"namespaceSelector":{"matchLabels":{"kubernetes.io/metadata.name":"kube-system"}}}]`,
		`{"port":5671,"protocol":"TCP"}],"to":[{"ipBlock":{"cidr":"10.30.0.0/16"}}]`,
		`"ports":[{"port":80,"protocol":"TCP"}],"to":[{"ipBlock":{"cidr":"169.254.170.23/32"}}]`,
		`{"port":15017,"protocol":"TCP"}],"to":[{"namespaceSelector":{"matchLabels":{"kubernetes.io/metadata.name":"istio-system"}}}]`,
		`"policyTypes":["Ingress","Egress"]`,
	} {
		if !strings.Contains(s, want) {
			t.Errorf("policy lacks %s:\n%s", want, s)
		}
	}
	// With declared callers, the namespace as a whole is not let in.
	if strings.Contains(s, `"from":[{"podSelector":{}}`) {
		t.Errorf("every pod of the namespace may call a service with declared callers: %s", s)
	}
	job := rec.ByType("kubernetes:batch/v1:Job")[0]
	labels := m(m(m(spec(job)["template"])["metadata"])["labels"])
	if labels[ServiceLabel] != "auth-service" {
		t.Errorf("migration Job pods %v: the policy would cut them off the database", labels)
	}
	for _, r := range append(rec.ByType("kubernetes:apps/v1:Deployment"), job) {
		c := container(t, r)
		res := m(c["resources"])
		if m(res["requests"])["ephemeral-storage"] != EphemeralRequest || m(res["limits"])["ephemeral-storage"] != EphemeralLimit {
			t.Errorf("%s: resources %v", r.Name, res)
		}
	}
}
