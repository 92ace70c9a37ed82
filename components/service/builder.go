package service

import (
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/eduai/infra/components/internal/k8sobj"

	appsv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/apps/v1"
	autoscalingv2 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/autoscaling/v2"
	batchv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/batch/v1"
	corev1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/core/v1"
	metav1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/meta/v1"
	policyv1 "github.com/pulumi/pulumi-kubernetes/sdk/v4/go/kubernetes/policy/v1"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// builder registers one service's resources.
type builder struct {
	ctx  *pulumi.Context
	name string
	args *Args
	// parent parents the service's Kubernetes objects and makes them wait
	// for the Prerequisites; custom, its custom resources, for the CRDs too;
	// owner only parents (the AWS resources).
	parent, custom, owner pulumi.ResourceOption

	config *corev1.ConfigMap
	// secretEnv holds Args.SecretEnv; nil without it.
	secretEnv *corev1.Secret
	// released is ready once the new version serves alone (set by the
	// strategy); nil while the old version may still serve (a blue-green
	// idle color that keeps its pods).
	released []pulumi.Resource
	// activeTag is the serving blue-green color's tag.
	activeTag string
}

// EphemeralRequest and EphemeralLimit bound a container's scratch space
// (its writable layer, logs and emptyDir volumes): the root filesystem is
// read-only, so a container that fills the node's disk past its limit is
// evicted instead of evicting its neighbours (Kubernetes, "Local ephemeral
// storage"; kube-score flags containers without them).
const (
	EphemeralRequest = "256Mi"
	EphemeralLimit   = "1Gi"
)

// User and group the containers run as.
const runAs = 10001

func (b *builder) labels(extra map[string]string) pulumi.StringMap {
	m := pulumi.StringMap{"app": pulumi.String(b.args.Name), "app.kubernetes.io/part-of": pulumi.String("eduai"),
		"app.kubernetes.io/managed-by": pulumi.String("pulumi"), ServiceLabel: pulumi.String(b.args.Name)}
	for k, v := range extra {
		m[k] = pulumi.String(v)
	}
	return m
}

func (b *builder) meta(name string, extra map[string]string) metav1.ObjectMetaArgs {
	return metav1.ObjectMetaArgs{Name: pulumi.String(name), Namespace: pulumi.String(b.args.Namespace),
		Labels: b.labels(extra)}
}

// minReplicas is the fewest pods the service runs.
func (b *builder) minReplicas() int {
	if s := b.args.Autoscaling; s != nil {
		return s.Min
	}
	return b.args.Replicas
}

// replicas is the workload's replica field: unset (the HPA owns it) with autoscaling.
func (b *builder) replicas() pulumi.IntPtrInput {
	if b.args.Autoscaling != nil {
		return nil
	}
	return pulumi.IntPtr(b.args.Replicas)
}

// basics: the service account and the ConfigMap with env and connections.
func (b *builder) basics() ([]pulumi.Resource, error) {
	a := b.args
	sa, err := corev1.NewServiceAccount(b.ctx, b.name, &corev1.ServiceAccountArgs{
		Metadata:                     b.meta(a.Name, nil),
		AutomountServiceAccountToken: pulumi.Bool(false),
	}, b.parent)
	if err != nil {
		return nil, err
	}
	data := pulumi.StringMap{}
	for k, v := range a.Env {
		data[k] = pulumi.String(v)
	}
	for k, v := range a.Connections {
		data[k] = v
	}
	// Auto-named: a change of data makes a new ConfigMap, so the pods roll.
	b.config, err = corev1.NewConfigMap(b.ctx, b.name, &corev1.ConfigMapArgs{
		Metadata: metav1.ObjectMetaArgs{Namespace: pulumi.String(a.Namespace), Labels: b.labels(nil)},
		Data:     data,
	}, b.parent)
	if err != nil {
		return nil, err
	}
	out := []pulumi.Resource{sa, b.config}
	if len(a.SecretEnv) > 0 {
		secret := pulumi.StringMap{}
		for k, v := range a.SecretEnv {
			secret[k] = pulumi.ToSecret(pulumi.String(v)).(pulumi.StringOutput)
		}
		// Auto-named like the ConfigMap, so a changed secret rolls the pods.
		b.secretEnv, err = corev1.NewSecret(b.ctx, b.name+"-env", &corev1.SecretArgs{
			Metadata:   metav1.ObjectMetaArgs{Namespace: pulumi.String(a.Namespace), Labels: b.labels(nil)},
			Type:       pulumi.String("Opaque"),
			StringData: secret,
		}, b.parent, pulumi.AdditionalSecretOutputs([]string{"data", "stringData"}))
		if err != nil {
			return nil, err
		}
		out = append(out, b.secretEnv)
	}
	return out, nil
}

func httpProbe(path string, initialDelay, period, timeout, failures int) *corev1.ProbeArgs {
	p := &corev1.ProbeArgs{
		HttpGet:          corev1.HTTPGetActionArgs{Path: pulumi.String(path), Port: pulumi.String("http")},
		PeriodSeconds:    pulumi.Int(period),
		FailureThreshold: pulumi.Int(failures),
		TimeoutSeconds:   pulumi.Int(timeout),
	}
	if initialDelay > 0 {
		p.InitialDelaySeconds = pulumi.Int(initialDelay)
	}
	return p
}

// containerSecurity: non-root, read-only root filesystem, no privilege, no capabilities.
func containerSecurity() corev1.SecurityContextArgs {
	return corev1.SecurityContextArgs{
		RunAsNonRoot:             pulumi.Bool(true),
		RunAsUser:                pulumi.Int(runAs),
		RunAsGroup:               pulumi.Int(runAs),
		ReadOnlyRootFilesystem:   pulumi.Bool(true),
		AllowPrivilegeEscalation: pulumi.Bool(false),
		Privileged:               pulumi.Bool(false),
		Capabilities:             corev1.CapabilitiesArgs{Drop: pulumi.StringArray{pulumi.String("ALL")}},
	}
}

func (b *builder) envFrom() corev1.EnvFromSourceArray {
	out := corev1.EnvFromSourceArray{corev1.EnvFromSourceArgs{
		ConfigMapRef: corev1.ConfigMapEnvSourceArgs{Name: b.config.Metadata.Name()}}}
	if b.secretEnv != nil {
		out = append(out, corev1.EnvFromSourceArgs{SecretRef: corev1.SecretEnvSourceArgs{Name: b.secretEnv.Metadata.Name()}})
	}
	for _, s := range b.args.SecretEnvFrom {
		out = append(out, corev1.EnvFromSourceArgs{SecretRef: corev1.SecretEnvSourceArgs{
			Name: pulumi.String(s), Optional: pulumi.Bool(true)}})
	}
	return out
}

// podSpec is the service's pod: one container with the seed's probes.
func (b *builder) podSpec(tag string) corev1.PodSpecArgs {
	a := b.args
	r := a.Resources
	container := corev1.ContainerArgs{
		Name:  pulumi.String(a.Name),
		Image: pulumi.String(image(a.Repository, tag)),
		Ports: corev1.ContainerPortArray{corev1.ContainerPortArgs{
			Name: pulumi.String("http"), ContainerPort: pulumi.Int(a.Port)}},
		EnvFrom: b.envFrom(),
		Resources: corev1.ResourceRequirementsArgs{
			Requests: pulumi.StringMap{"cpu": pulumi.String(r.RequestCPU), "memory": pulumi.String(r.RequestMemory),
				"ephemeral-storage": pulumi.String(EphemeralRequest)},
			Limits: pulumi.StringMap{"cpu": pulumi.String(r.LimitCPU), "memory": pulumi.String(r.LimitMemory),
				"ephemeral-storage": pulumi.String(EphemeralLimit)},
		},
		SecurityContext: containerSecurity(),
		VolumeMounts: corev1.VolumeMountArray{corev1.VolumeMountArgs{
			Name: pulumi.String("tmp"), MountPath: pulumi.String("/tmp")}},
	}
	if !a.NoProbes {
		// The seed's timings: startup up to 30 x 10 s; liveness after 30 s every 10 s; readiness after 5 s every 5 s.
		container.StartupProbe = httpProbe(StartupPath, 0, 10, 5, 30)
		container.LivenessProbe = httpProbe(LivenessPath, 30, 10, 5, 3)
		container.ReadinessProbe = httpProbe(ReadinessPath, 5, 5, 3, 3)
	}
	return corev1.PodSpecArgs{
		ServiceAccountName: pulumi.String(a.Name),
		SecurityContext: corev1.PodSecurityContextArgs{
			RunAsNonRoot:   pulumi.Bool(true),
			FsGroup:        pulumi.Int(runAs),
			SeccompProfile: corev1.SeccompProfileArgs{Type: pulumi.String("RuntimeDefault")},
		},
		TopologySpreadConstraints: corev1.TopologySpreadConstraintArray{corev1.TopologySpreadConstraintArgs{
			MaxSkew: pulumi.Int(1), TopologyKey: pulumi.String("topology.kubernetes.io/zone"),
			WhenUnsatisfiable: pulumi.String("ScheduleAnyway"),
			LabelSelector:     metav1.LabelSelectorArgs{MatchLabels: pulumi.StringMap{"app": pulumi.String(a.Name)}},
		}},
		Containers: corev1.ContainerArray{container},
		Volumes: corev1.VolumeArray{corev1.VolumeArgs{Name: pulumi.String("tmp"),
			EmptyDir: corev1.EmptyDirVolumeSourceArgs{SizeLimit: pulumi.String("256Mi")}}},
	}
}

// NewNamespace creates the services' namespace where no mesh does it.
func NewNamespace(ctx *pulumi.Context, name, namespace string, opts ...pulumi.ResourceOption) (*corev1.Namespace, error) {
	return corev1.NewNamespace(ctx, name, &corev1.NamespaceArgs{
		Metadata: metav1.ObjectMetaArgs{Name: pulumi.String(namespace), Labels: pulumi.StringMap{
			"app.kubernetes.io/part-of": pulumi.String("eduai"), "app.kubernetes.io/managed-by": pulumi.String("pulumi")}},
	}, opts...)
}

// deployment registers a Deployment running tag, its pods labelled app plus extra.
func (b *builder) deployment(resource, name string, extra map[string]string, tag string, replicas pulumi.IntPtrInput,
	deps []pulumi.Resource) (*appsv1.Deployment, error) {
	match := b.labels(nil)
	selector := pulumi.StringMap{"app": pulumi.String(b.args.Name)}
	for k, v := range extra {
		match[k] = pulumi.String(v)
		selector[k] = pulumi.String(v)
	}
	return appsv1.NewDeployment(b.ctx, resource, &appsv1.DeploymentArgs{
		Metadata: b.meta(name, extra),
		Spec: appsv1.DeploymentSpecArgs{
			Replicas: replicas,
			Selector: metav1.LabelSelectorArgs{MatchLabels: selector},
			Strategy: appsv1.DeploymentStrategyArgs{Type: pulumi.String("RollingUpdate"),
				RollingUpdate: appsv1.RollingUpdateDeploymentArgs{
					MaxSurge: pulumi.String("25%"), MaxUnavailable: pulumi.String("25%")}},
			ProgressDeadlineSeconds: pulumi.Int(600),
			RevisionHistoryLimit:    pulumi.Int(10),
			Template: corev1.PodTemplateSpecArgs{
				Metadata: metav1.ObjectMetaArgs{Labels: match},
				Spec:     b.podSpec(tag),
			},
		},
	}, b.parent, pulumi.DependsOn(deps))
}

// autoscaler scales the workload of the given kind and name (CPU and memory targets).
func (b *builder) autoscaler(kind, target string) error {
	s := b.args.Autoscaling
	if s == nil {
		return nil
	}
	apiVersion := "apps/v1"
	if kind == "Rollout" {
		apiVersion = "argoproj.io/v1alpha1"
	}
	utilization := func(resource string, percent int) autoscalingv2.MetricSpecArgs {
		return autoscalingv2.MetricSpecArgs{Type: pulumi.String("Resource"), Resource: autoscalingv2.ResourceMetricSourceArgs{
			Name: pulumi.String(resource), Target: autoscalingv2.MetricTargetArgs{
				Type: pulumi.String("Utilization"), AverageUtilization: pulumi.Int(percent)}}}
	}
	_, err := autoscalingv2.NewHorizontalPodAutoscaler(b.ctx, b.name, &autoscalingv2.HorizontalPodAutoscalerArgs{
		Metadata: b.meta(b.args.Name, nil),
		Spec: autoscalingv2.HorizontalPodAutoscalerSpecArgs{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReferenceArgs{ApiVersion: pulumi.String(apiVersion),
				Kind: pulumi.String(kind), Name: pulumi.String(target)},
			MinReplicas: pulumi.Int(s.Min),
			MaxReplicas: pulumi.Int(s.Max),
			Metrics:     autoscalingv2.MetricSpecArray{utilization("cpu", s.CPUPercent), utilization("memory", s.MemoryPercent)},
		},
	}, b.parent)
	return err
}

// service registers a Service on port 80 to the pods matching selector.
func (b *builder) service(resource, name string, selector map[string]string, extraLabels map[string]string,
	opts ...pulumi.ResourceOption) error {
	_, err := b.newService(resource, name, selector, extraLabels, opts...)
	return err
}

// newService is service, returning the Service.
func (b *builder) newService(resource, name string, selector map[string]string, extraLabels map[string]string,
	opts ...pulumi.ResourceOption) (*corev1.Service, error) {
	sel := pulumi.StringMap{"app": pulumi.String(b.args.Name)}
	for k, v := range selector {
		sel[k] = pulumi.String(v)
	}
	return corev1.NewService(b.ctx, resource, &corev1.ServiceArgs{
		Metadata: b.meta(name, extraLabels),
		Spec: corev1.ServiceSpecArgs{
			Selector: sel,
			Ports: corev1.ServicePortArray{corev1.ServicePortArgs{Name: pulumi.String("http"),
				Port: pulumi.Int(80), TargetPort: pulumi.String("http")}},
		},
	}, append([]pulumi.ResourceOption{b.parent}, opts...)...)
}

// image is repository:tag, or the repository alone without a tag.
func image(repository, tag string) string {
	if tag == "" {
		return repository
	}
	return repository + ":" + tag
}

var unsafeName = regexp.MustCompile(`[^a-z0-9-]+`)

// jobName is a DNS-1123 name for a Job of this service: prefix plus the tag.
func jobName(prefix, tag string) string {
	if tag == "" {
		tag = "latest"
	}
	n := prefix + "-" + strings.Trim(unsafeName.ReplaceAllString(strings.ToLower(tag), "-"), "-")
	if len(n) > 63 {
		n = strings.TrimRight(n[:63], "-")
	}
	return n
}

// job registers a run-once Job; Pulumi waits for it to complete, so what
// depends on it waits too, and a failed Job stops the deploy. A Job outside
// the mesh opts out of sidecar injection. A Job in the mesh (meshed) gets
// its sidecar as a Kubernetes native sidecar (an init container with
// restartPolicy Always, Kubernetes 1.29+; Istio's pod annotation
// sidecar.istio.io/nativeSidecar, which takes precedence over istiod's
// ENABLE_NATIVE_SIDECARS): the proxy starts before the Job's container and
// is stopped when it exits, so the Job completes; an ordinary sidecar would
// keep it running for ever.
func (b *builder) job(resource, name, image string, command []string, env corev1.EnvVarArray, envFrom corev1.EnvFromSourceArray,
	serviceAccount string, deps []pulumi.Resource, meshed bool) (*batchv1.Job, error) {
	podLabels := pulumi.StringMap{"app.kubernetes.io/part-of": pulumi.String("eduai"), "job": pulumi.String(name),
		ServiceLabel: pulumi.String(b.args.Name)}
	annotations := pulumi.StringMap{"sidecar.istio.io/inject": pulumi.String("false")}
	if meshed {
		podLabels["sidecar.istio.io/inject"] = pulumi.String("true")
		annotations = pulumi.StringMap{"sidecar.istio.io/nativeSidecar": pulumi.String("true")}
	}
	return batchv1.NewJob(b.ctx, resource, &batchv1.JobArgs{
		Metadata: b.meta(name, map[string]string{"app.kubernetes.io/component": "job"}),
		Spec: batchv1.JobSpecArgs{
			BackoffLimit:          pulumi.Int(jobBackoffLimit),
			ActiveDeadlineSeconds: pulumi.Int(int(jobDeadline / time.Second)),
			Template: corev1.PodTemplateSpecArgs{
				Metadata: metav1.ObjectMetaArgs{Labels: podLabels, Annotations: annotations},
				Spec: corev1.PodSpecArgs{
					RestartPolicy:      pulumi.String("Never"),
					ServiceAccountName: pulumi.String(serviceAccount),
					SecurityContext: corev1.PodSecurityContextArgs{RunAsNonRoot: pulumi.Bool(true),
						SeccompProfile: corev1.SeccompProfileArgs{Type: pulumi.String("RuntimeDefault")}},
					Containers: corev1.ContainerArray{corev1.ContainerArgs{
						Name: pulumi.String("run"), Image: pulumi.String(image),
						Command: pulumi.ToStringArray(command), Env: env, EnvFrom: envFrom,
						Resources: corev1.ResourceRequirementsArgs{
							Requests: pulumi.StringMap{"cpu": pulumi.String("100m"), "memory": pulumi.String("128Mi"),
								"ephemeral-storage": pulumi.String(EphemeralRequest)},
							Limits: pulumi.StringMap{"cpu": pulumi.String("500m"), "memory": pulumi.String("512Mi"),
								"ephemeral-storage": pulumi.String(EphemeralLimit)},
						},
						SecurityContext: containerSecurity(),
					}},
				},
			},
		},
	}, b.parent, pulumi.DependsOn(deps), pulumi.DeleteBeforeReplace(true),
		// Pulumi waits as long as Kubernetes may still retry the Job (its
		// default for a Job is 10 minutes, shorter than the deadline).
		pulumi.Timeouts(&pulumi.CustomTimeouts{Create: JobTimeout().String(), Update: JobTimeout().String()}))
}

// A Job's budget: three attempts (backoffLimit 2; Kubernetes waits 10 s,
// then 20 s, between them) within activeDeadlineSeconds, after which
// Kubernetes fails the Job whatever is left.
const (
	jobBackoffLimit = 2
	jobDeadline     = 15 * time.Minute
)

// JobTimeout is how long Pulumi waits for a Job: its deadline and a minute
// for the pod's scheduling and the Job controller to report.
func JobTimeout() time.Duration { return jobDeadline + time.Minute }

// A migration's session limits (PostgreSQL lock_timeout and
// statement_timeout), passed as PGOPTIONS, which libpq and pgx send as the
// session's options: a DDL statement waiting behind the serving pods'
// transactions gives up after LockTimeout instead of queueing every query
// behind it, and no statement outlives StatementTimeout; both well inside
// the Job's deadline, so a retry has time left.
const (
	LockTimeout      = 10 * time.Second
	StatementTimeout = 4 * time.Minute
)

// migrationEnv is the session limits for a migration Job.
func migrationEnv() corev1.EnvVarArray {
	return corev1.EnvVarArray{corev1.EnvVarArgs{Name: pulumi.String("PGOPTIONS"),
		Value: pulumi.Sprintf("-c lock_timeout=%dms -c statement_timeout=%dms", LockTimeout.Milliseconds(), StatementTimeout.Milliseconds())}}
}

// migrationJob runs the service's expand migration in the new image.
func (b *builder) migrationJob(deps []pulumi.Resource) (*batchv1.Job, error) {
	a := b.args
	return b.job(b.name+"-migrate", jobName(a.Name+"-migrate", a.Tag), image(a.Repository, a.Tag),
		a.Migration.Command, migrationEnv(), b.envFrom(), a.Name, deps, false)
}

// contractJob runs the contract migration once the new version serves
// alone; while the old version may still serve (a blue-green idle color with
// pods), it is not registered, and runs at the first update after.
func (b *builder) contractJob(deps []pulumi.Resource) error {
	a := b.args
	if a.Migration == nil || len(a.Migration.Contract) == 0 || len(b.released) == 0 {
		return nil
	}
	tag := a.Tag
	if a.Strategy == BlueGreen {
		tag = b.activeTag
	}
	_, err := b.job(b.name+"-contract", jobName(a.Name+"-contract", tag), image(a.Repository, tag),
		a.Migration.Contract, migrationEnv(), b.envFrom(), a.Name, append(slices.Clone(deps), b.released...), false)
	return err
}

// SmokeImage runs the blue-green smoke test (curl, pinned).
const SmokeImage = "curlimages/curl:8.11.1"

// extras: the PodDisruptionBudget, the ServiceMonitor and the Ingress.
func (b *builder) extras() error {
	a := b.args
	// The seed's minAvailable 2 where at least 3 pods run; with 2 pods one
	// may go at a time; none with 1. A drain is never blocked for good.
	if n := b.minReplicas(); n > 1 {
		pdb := policyv1.PodDisruptionBudgetSpecArgs{
			Selector: metav1.LabelSelectorArgs{MatchLabels: pulumi.StringMap{"app": pulumi.String(a.Name)}}}
		if n > 2 {
			pdb.MinAvailable = pulumi.Int(2)
		} else {
			pdb.MaxUnavailable = pulumi.Int(1)
		}
		if _, err := policyv1.NewPodDisruptionBudget(b.ctx, b.name, &policyv1.PodDisruptionBudgetArgs{
			Metadata: b.meta(a.Name, nil), Spec: pdb}, b.parent); err != nil {
			return err
		}
	}
	if a.Monitoring {
		if err := b.serviceMonitor(); err != nil {
			return err
		}
	}
	if a.Ingress != nil && !a.Mesh {
		return b.ingress()
	}
	if a.Ingress != nil && a.Strategy == Rolling {
		// From the mesh's gateway to the one Service (the other strategies route by subset).
		_, err := k8sobj.New(b.ctx, b.name+"-routes", VirtualServiceFor(a, SubsetDestinations(a, map[string]int{"": 100}, []string{""})), b.custom)
		return err
	}
	return nil
}
