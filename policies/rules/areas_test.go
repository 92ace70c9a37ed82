package rules

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/policyx"
)

// resourceCase is one resource against one resource rule: want is a
// fragment of the expected violation, "" for none.
type resourceCase struct {
	name   string
	check  func(policyx.ResourceValidationArgs) error
	r      policyx.AnalyzerResource
	config map[string]any
	want   string
}

func runResourceCases(t *testing.T, cases []resourceCase) {
	t.Helper()
	for _, c := range cases {
		got := runResourceRule(c.check, c.r, c.config)
		if (c.want == "") != (len(got) == 0) || (c.want != "" && !strings.Contains(got[0], c.want)) {
			t.Errorf("%s: got %v, want %q", c.name, got, c.want)
		}
	}
}

// stackCase is a plan against one stack rule: want violations.
type stackCase struct {
	name string
	rs   []policyx.AnalyzerResource
	want int
}

func runStackCases(t *testing.T, check func([]policyx.AnalyzerResource) []Finding, cases []stackCase) {
	t.Helper()
	for _, c := range cases {
		if got := check(c.rs); len(got) != c.want {
			t.Errorf("%s: %d findings, want %d: %v", c.name, len(got), c.want, got)
		}
	}
}

func rs(list ...policyx.AnalyzerResource) []policyx.AnalyzerResource { return list }

const trust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"backup.amazonaws.com"},"Action":"sts:AssumeRole"}]}`

func TestIAMRules(t *testing.T) {
	runResourceCases(t, []resourceCase{
		{"service principal", checkRoleTrust, res(typeIAMRole, "r", map[string]any{"assumeRolePolicy": trust}), nil, ""},
		{"anyone", checkRoleTrust, res(typeIAMRole, "r", map[string]any{"assumeRolePolicy": strings.Replace(trust,
			`{"Service":"backup.amazonaws.com"}`, `"*"`, 1)}), nil, `any principal ("*")`},
		{"anyone with a condition", checkRoleTrust, res(typeIAMRole, "r", map[string]any{"assumeRolePolicy": strings.Replace(trust,
			`"Action"`, `"Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-1"}},"Action"`, 1)}), nil, ""},
		{"trust not known yet", checkRoleTrust, res(typeIAMRole, "r", map[string]any{"assumeRolePolicy": unknown}), nil, ""},
		// Issue #17: the confused-deputy guard on the services that send the keys.
		{"flow logs without a source guard", checkServiceSourceGuard, res(typeIAMRole, "r", map[string]any{"assumeRolePolicy": strings.Replace(trust,
			"backup.amazonaws.com", "vpc-flow-logs.amazonaws.com", 1)}), nil, `lets vpc-flow-logs.amazonaws.com in without aws:SourceAccount`},
		{"flow logs held to the account", checkServiceSourceGuard, res(typeIAMRole, "r", map[string]any{"assumeRolePolicy": strings.Replace(strings.Replace(trust,
			"backup.amazonaws.com", "vpc-flow-logs.amazonaws.com", 1), `"Action"`, `"Condition":{"StringEquals":{"aws:SourceAccount":"1"}},"Action"`, 1)}), nil, ""},
		{"RDS monitoring held by source ARN", checkServiceSourceGuard, res(typeIAMRole, "r", map[string]any{"assumeRolePolicy": strings.Replace(strings.Replace(trust,
			"backup.amazonaws.com", "monitoring.rds.amazonaws.com", 1), `"Action"`, `"Condition":{"ArnLike":{"AWS:SourceArn":"arn:aws:rds:us-west-2:1:db:*"}},"Action"`, 1)}), nil, ""},
		{"a condition on something else", checkServiceSourceGuard, res(typeIAMRole, "r", map[string]any{"assumeRolePolicy": strings.Replace(strings.Replace(trust,
			"backup.amazonaws.com", "s3.amazonaws.com", 1), `"Action"`, `"Condition":{"Bool":{"aws:SecureTransport":"true"}},"Action"`, 1)}), nil, "s3.amazonaws.com"},
		{"a service that does not send the keys", checkServiceSourceGuard, res(typeIAMRole, "r", map[string]any{"assumeRolePolicy": trust}), nil, ""},
		{"log delivery by source ARN only", checkServiceSourceGuard, res(typeBucketPolicy, "b", map[string]any{"policy": `{"Statement":[` +
			`{"Effect":"Allow","Principal":{"Service":"logging.s3.amazonaws.com"},"Action":"s3:PutObject","Resource":"arn:aws:s3:::l/*",` +
			`"Condition":{"ArnLike":{"aws:SourceArn":["arn:aws:s3:::c"]}}}]}`}), nil, "bucket policy \"b\" lets logging.s3.amazonaws.com in"},
		{"log delivery held to the account", checkServiceSourceGuard, res(typeBucketPolicy, "b", map[string]any{"policy": `{"Statement":[` +
			`{"Effect":"Allow","Principal":{"Service":"logging.s3.amazonaws.com"},"Action":"s3:PutObject","Resource":"arn:aws:s3:::l/*",` +
			`"Condition":{"ArnLike":{"aws:SourceArn":["arn:aws:s3:::c"]},"StringEquals":{"aws:SourceAccount":"1"}}}]}`}), nil, ""},
		{"scoped policy", checkPolicyNotAdmin, res(typeIAMRolePolicy, "p", map[string]any{"policy": `{"Statement":[` +
			`{"Effect":"Allow","Action":["s3:GetObject"],"Resource":"arn:aws:s3:::b/*"}]}`}), nil, ""},
		{"*:*", checkPolicyNotAdmin, res(typeIAMRolePolicy, "p", map[string]any{"policy": `{"Statement":` +
			`{"Effect":"Allow","Action":"*","Resource":"*"}}`}), nil, `every action on every resource`},
		{"iam:*", checkPolicyNotAdmin, res(typeIAMPolicy, "p", map[string]any{"policy": `{"Statement":[` +
			`{"Effect":"Allow","Action":["iam:*"],"Resource":"*"}]}`}), nil, `every IAM action`},
		{"deny *", checkPolicyNotAdmin, res(typeIAMRolePolicy, "p", map[string]any{"policy": `{"Statement":[` +
			`{"Effect":"Deny","Action":"*","Resource":"*"}]}`}), nil, ""},
		{"AdministratorAccess", checkPolicyNotAdmin, res(typeIAMPolicyAttachment, "a", map[string]any{
			"policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}), nil, "AdministratorAccess"},
		{"managed policy on the role", checkPolicyNotAdmin, res(typeIAMRole, "r", map[string]any{
			"managedPolicyArns": []string{"arn:aws:iam::aws:policy/IAMFullAccess"}}), nil, "IAMFullAccess"},
		{"a narrow managed policy", checkPolicyNotAdmin, res(typeIAMPolicyAttachment, "a", map[string]any{
			"policyArn": "arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup"}), nil, ""},
	})
}

func TestDataRules(t *testing.T) {
	inst := func(p map[string]any) policyx.AnalyzerResource {
		base := map[string]any{"performanceInsightsEnabled": true, "performanceInsightsKmsKeyId": "arn:aws:kms:k",
			"monitoringInterval": 60, "autoMinorVersionUpgrade": true}
		for k, v := range p {
			base[k] = v
		}
		return res(typeRDSInstance, "db-1", base)
	}
	runResourceCases(t, []resourceCase{
		{"default key policy", checkKMSKeyPolicy, res(typeKMSKey, "k", map[string]any{"enableKeyRotation": true}), nil, ""},
		{"disabled key", checkKMSKeyPolicy, res(typeKMSKey, "k", map[string]any{"isEnabled": false}), nil, "is disabled"},
		{"wildcard principal", checkKMSKeyPolicy, res(typeKMSKey, "k", map[string]any{"policy": `{"Statement":[` +
			`{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"kms:*","Resource":"*"}]}`}), nil, `any principal`},
		{"service with a condition", checkKMSKeyPolicy, res(typeKMSKey, "k", map[string]any{"policy": `{"Statement":[` +
			`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"kms:*","Resource":"*"},` +
			`{"Effect":"Allow","Principal":{"Service":"cloudwatch.amazonaws.com"},"Action":"kms:Decrypt","Resource":"*",` +
			`"Condition":{"StringEquals":{"aws:SourceAccount":"123456789012"}}}]}`}), nil, ""},
		{"secret with a CMK", checkSecretCMK, res(typeSecret, "s", map[string]any{"kmsKeyId": "arn:aws:kms:k"}), nil, ""},
		{"secret with the AWS key", checkSecretCMK, res(typeSecret, "s", nil), nil, "AWS-managed key"},
		{"secret key not known yet", checkSecretCMK, res(typeSecret, "s", map[string]any{"kmsKeyId": unknown}), nil, ""},
		// Issue #20: an empty string or the service's own alias is no customer-managed key.
		{"secret with an empty key", checkSecretCMK, res(typeSecret, "s", map[string]any{"kmsKeyId": ""}), nil, "AWS-managed key"},
		{"secret with the AWS key's alias", checkSecretCMK, res(typeSecret, "s", map[string]any{"kmsKeyId": "alias/aws/secretsmanager"}), nil, "AWS-managed key"},
		{"monitored instance", checkRDSInstanceMonitoring, inst(nil), nil, ""},
		{"no Performance Insights", checkRDSInstanceMonitoring, inst(map[string]any{"performanceInsightsEnabled": false}), nil, "Performance Insights"},
		{"PI with the AWS key", checkRDSInstanceMonitoring, inst(map[string]any{"performanceInsightsKmsKeyId": nil}), nil, "customer-managed key"},
		{"no enhanced monitoring", checkRDSInstanceMonitoring, inst(map[string]any{"monitoringInterval": 0}), nil, "enhanced monitoring"},
		// Issue #17: minor upgrades without drift.
		{"automatic under a major-only version", checkRDSMinorUpgrades, inst(map[string]any{"engineVersion": "16"}), nil, ""},
		{"by config under an exact pin", checkRDSMinorUpgrades, inst(map[string]any{"engineVersion": "16.6",
			"autoMinorVersionUpgrade": false}), nil, ""},
		{"automatic under an exact pin", checkRDSMinorUpgrades, inst(map[string]any{"engineVersion": "16.6"}), nil,
			"tries a downgrade RDS refuses"},
		{"automatic by default under an exact pin", checkRDSMinorUpgrades, inst(map[string]any{"engineVersion": "16.6",
			"autoMinorVersionUpgrade": nil}), nil, "tries a downgrade"},
		{"no minor upgrades at all", checkRDSMinorUpgrades, inst(map[string]any{"engineVersion": "16",
			"autoMinorVersionUpgrade": false}), nil, "minor engine upgrades"},
		{"version not known yet", checkRDSMinorUpgrades, inst(map[string]any{"engineVersion": unknown}), nil, ""},
		{"multi-AZ Redis", checkRedisMultiAZ, res(typeReplicationGroup, "c", map[string]any{"automaticFailoverEnabled": true,
			"multiAzEnabled": true}), nil, ""},
		{"single-AZ Redis", checkRedisMultiAZ, res(typeReplicationGroup, "c", map[string]any{"automaticFailoverEnabled": false,
			"multiAzEnabled": false}), nil, "automatic failover"},
		{"vault with a CMK", checkBackupVaultCMK, res("aws:backup/vault:Vault", "v", map[string]any{"kmsKeyArn": "arn:aws:kms:k"}), nil, ""},
		{"vault with the AWS key", checkBackupVaultCMK, res("aws:backup/vault:Vault", "v", nil), nil, "AWS-managed key"},
		{"alarm with an action", checkAlarmActions, res(typeMetricAlarm, "a", map[string]any{"alarmActions": []string{"arn:aws:sns:t"}}), nil, ""},
		{"alarm without actions", checkAlarmActions, res(typeMetricAlarm, "a", nil), nil, "notifies no one"},
		{"alarm actions off", checkAlarmActions, res(typeMetricAlarm, "a", map[string]any{"actionsEnabled": false,
			"alarmActions": []string{"arn:aws:sns:t"}}), nil, "actions disabled"},
		{"alarm topic not known yet", checkAlarmActions, res(typeMetricAlarm, "a", map[string]any{"alarmActions": []any{unknown}}), nil, ""},
	})
}

func TestRDSStackRules(t *testing.T) {
	params := func(v string) policyx.AnalyzerResource {
		return res(typeClusterParams, "params", map[string]any{"parameters": []any{
			map[string]any{"name": "log_min_duration_statement", "value": v}}})
	}
	cluster := func(p policyx.AnalyzerResource, extra map[string]any) policyx.AnalyzerResource {
		base := map[string]any{"enabledCloudwatchLogsExports": []string{"postgresql"}, "copyTagsToSnapshot": true}
		for k, v := range extra {
			base[k] = v
		}
		return dependsOn(res(typeRDSCluster, "database", base), "dbClusterParameterGroupName", p)
	}
	logged := params("1000")
	runStackCases(t, RDSLoggingFindings, []stackCase{
		{"logged", rs(logged, cluster(logged, nil)), 0},
		{"no slow-statement log", rs(params("-1"), cluster(params("-1"), nil)), 1},
		{"no export", rs(logged, cluster(logged, map[string]any{"enabledCloudwatchLogsExports": []string{}})), 1},
		{"no parameter group", rs(res(typeRDSCluster, "database", map[string]any{"enabledCloudwatchLogsExports": []string{"postgresql"},
			"copyTagsToSnapshot": true})), 1},
	})
	c := res(typeRDSCluster, "database", map[string]any{"id": "eduai-prod"})
	instance := func(n string) policyx.AnalyzerResource {
		return dependsOn(res(typeRDSInstance, n, nil), "clusterIdentifier", c)
	}
	secondary := res(typeRDSCluster, "dr-database", map[string]any{"globalClusterIdentifier": "g"})
	runStackCases(t, RDSInstanceCountFindings, []stackCase{
		{"writer and reader", rs(c, instance("1"), instance("2")), 0},
		{"writer alone", rs(c, instance("1")), 1},
		{"headless global secondary", rs(c, instance("1"), instance("2"), secondary), 0},
	})
	source := res(typeRDSCluster, "database", map[string]any{"storageEncrypted": true})
	plain := res(typeRDSCluster, "database", map[string]any{"storageEncrypted": false})
	runStackCases(t, GlobalClusterEncryptionFindings, []stackCase{
		{"adopts an encrypted source", rs(source, dependsOn(res(typeGlobalCluster, "g", nil), "sourceDbClusterIdentifier", source)), 0},
		{"adopts a plain source", rs(plain, dependsOn(res(typeGlobalCluster, "g", nil), "sourceDbClusterIdentifier", plain)), 1},
		{"encrypted itself", rs(res(typeGlobalCluster, "g", map[string]any{"storageEncrypted": true})), 0},
	})
}

func TestBucketStackRules(t *testing.T) {
	b := res(typeBucket, "content", nil)
	logs := res(typeBucket, "access-logs", nil)
	replica := res(typeBucket, "dr-content", nil)
	versioning := func(status string) policyx.AnalyzerResource {
		return dependsOn(res(typeBucketVersioning, "v", map[string]any{"versioningConfiguration": map[string]any{"status": status}}), "bucket", b)
	}
	runStackCases(t, BucketVersioningFindings, []stackCase{
		{"versioned", rs(b, versioning("Enabled")), 0},
		{"suspended", rs(b, versioning("Suspended")), 1},
		{"none", rs(b), 1},
	})
	logging := dependsOn(dependsOn(res(typeBucketLogging, "l", map[string]any{"targetBucket": "access-logs"}), "bucket", b),
		"targetBucket", logs)
	repl := dependsOn(dependsOn(res(typeBucketReplConfig, "r", nil), "bucket", b), "rules", replica)
	back := dependsOn(dependsOn(res(typeBucketReplConfig, "back", nil), "bucket", replica), "rules", b)
	runStackCases(t, BucketLoggingFindings, []stackCase{
		{"logged, its log bucket and its replica", rs(b, logs, replica, logging, repl), 0},
		{"not logged", rs(b), 1},
		// Issue #20: a replica that replicates back takes writes when its region serves.
		{"bidirectional replica unlogged", rs(b, logs, replica, logging, repl, back), 1},
		{"logging without a target", rs(b, dependsOn(res(typeBucketLogging, "l", nil), "bucket", b)), 1},
	})
	lifecycle := func(days any) policyx.AnalyzerResource {
		return dependsOn(res(typeBucketLifecycle, "lc", map[string]any{"rules": []any{map[string]any{"status": "Enabled",
			"abortIncompleteMultipartUpload": map[string]any{"daysAfterInitiation": days}}}}), "bucket", b)
	}
	runStackCases(t, BucketLifecycleFindings, []stackCase{
		{"aborts after 7 days", rs(b, lifecycle(7)), 0},
		{"never aborts", rs(b, lifecycle(0)), 1},
		{"no lifecycle", rs(b), 1},
		{"not known yet", rs(b, lifecycle(unknown)), 0},
	})
	policy := func(doc string) policyx.AnalyzerResource {
		return dependsOn(res(typeBucketPolicy, "p", map[string]any{"policy": doc}), "bucket", b)
	}
	tls := `{"Sid":"DenyInsecureTransport","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}`
	runStackCases(t, BucketPolicyFindings, []stackCase{
		{"TLS only", rs(b, policy(`{"Statement":[`+tls+`]}`)), 0},
		{"no policy", rs(b), 1},
		{"public read", rs(b, policy(`{"Statement":[`+tls+`,{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*"}]}`)), 1},
		{"lockout", rs(b, policy(`{"Statement":[`+tls+`,{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*"}]}`)), 1},
		{"policy not known yet", rs(b, dependsOn(res(typeBucketPolicy, "p", map[string]any{"policy": unknown}), "bucket", b)), 0},
	})
}

func TestNetworkAndClusterRules(t *testing.T) {
	eip := res(typeEIP, "nat-a", nil)
	runStackCases(t, EIPAttachedFindings, []stackCase{
		{"used by a NAT gateway", rs(eip, dependsOn(res(typeNatGateway, "nat", nil), "allocationId", eip)), 0},
		{"idle", rs(eip), 1},
	})
	sg := res(typeSecurityGroup, "db", nil)
	runStackCases(t, SecurityGroupAttachedFindings, []stackCase{
		{"attached", rs(sg, dependsOn(res(typeRDSCluster, "database", nil), "vpcSecurityGroupIds", sg)), 0},
		{"unattached", rs(sg), 1},
	})
	userData := base64.StdEncoding.EncodeToString([]byte("#!/bin/bash\nexport AWS_SECRET_ACCESS_KEY=abc\n"))
	runResourceCases(t, []resourceCase{
		{"no remote access", checkNodeGroupNoSSH, res(typeNodeGroup, "ng", nil), nil, ""},
		{"SSH", checkNodeGroupNoSSH, res(typeNodeGroup, "ng", map[string]any{"remoteAccess": map[string]any{"ec2SshKey": "k"}}), nil, "SSH"},
		{"private template", checkLaunchTemplateSafe, res(typeLaunchTemplate, "lt", map[string]any{
			"userData": base64.StdEncoding.EncodeToString([]byte("#!/bin/bash\necho ok\n"))}), nil, ""},
		{"public IP", checkLaunchTemplateSafe, res(typeLaunchTemplate, "lt", map[string]any{"networkInterfaces": []any{
			map[string]any{"associatePublicIpAddress": "true"}}}), nil, "public IP"},
		{"credentials in user data", checkLaunchTemplateSafe, res(typeLaunchTemplate, "lt", map[string]any{"userData": userData}), nil, "credential"},
		{"a chart", checkNoLegacyAddOns, res(typeHelmRelease, "h", map[string]any{"chart": "cert-manager"}), nil, ""},
		{"the dashboard", checkNoLegacyAddOns, res(typeHelmRelease, "h", map[string]any{"chart": "kubernetes-dashboard"}), nil, "kubernetes-dashboard"},
		{"tiller", checkNoLegacyAddOns, res(typeDeployment, "d", map[string]any{"metadata": map[string]any{"name": "tiller-deploy"}}), nil, "tiller"},
	})
}

// pod builds a Deployment whose pod template the workload rules read.
func pod(podSpec map[string]any, container map[string]any) policyx.AnalyzerResource {
	c := map[string]any{"name": "app", "image": "registry/app:v1", "securityContext": map[string]any{
		"capabilities": map[string]any{"drop": []string{"ALL"}}}}
	for k, v := range container {
		c[k] = v
	}
	spec := map[string]any{"serviceAccountName": "app", "containers": []any{c},
		"securityContext":           map[string]any{"seccompProfile": map[string]any{"type": "RuntimeDefault"}},
		"topologySpreadConstraints": []any{map[string]any{"topologyKey": "topology.kubernetes.io/zone"}}}
	for k, v := range podSpec {
		spec[k] = v
	}
	return res(typeDeployment, "app", map[string]any{"metadata": map[string]any{"name": "app", "namespace": "eduai"},
		"spec": map[string]any{"replicas": 3, "template": map[string]any{"spec": spec}}})
}

func TestWorkloadRules(t *testing.T) {
	good := pod(nil, nil)
	runResourceCases(t, []resourceCase{
		{"drops ALL", checkContainerCapabilities, good, nil, ""},
		{"keeps capabilities", checkContainerCapabilities, pod(nil, map[string]any{"securityContext": map[string]any{
			"capabilities": map[string]any{"drop": []string{"NET_RAW"}}}}), nil, "does not drop ALL"},
		{"adds SYS_ADMIN", checkContainerCapabilities, pod(nil, map[string]any{"securityContext": map[string]any{
			"capabilities": map[string]any{"drop": []string{"ALL"}, "add": []string{"SYS_ADMIN"}}}}), nil, "adds SYS_ADMIN"},
		{"stays off the host", checkPodHostAccess, good, nil, ""},
		{"host network", checkPodHostAccess, pod(map[string]any{"hostNetwork": true}, nil), nil, "hostNetwork"},
		{"host port", checkPodHostAccess, pod(nil, map[string]any{"ports": []any{map[string]any{"containerPort": 80, "hostPort": 80}}}), nil, "hostPort"},
		{"docker socket", checkPodHostAccess, pod(map[string]any{"volumes": []any{map[string]any{"name": "d",
			"hostPath": map[string]any{"path": "/var/run/docker.sock"}}}}, nil), nil, "docker.sock"},
		{"runtime default seccomp", checkPodSeccomp, good, nil, ""},
		{"unconfined", checkPodSeccomp, pod(map[string]any{"securityContext": map[string]any{
			"seccompProfile": map[string]any{"type": "Unconfined"}}}, nil), nil, "seccomp"},
		{"no seccomp", checkPodSeccomp, pod(map[string]any{"securityContext": map[string]any{}}, nil), nil, "seccomp"},
		{"own namespace", checkNotDefaultNamespace, good, nil, ""},
		{"default namespace", checkNotDefaultNamespace, res(typeService, "s", map[string]any{"metadata": map[string]any{
			"name": "s", "namespace": "default"}}), nil, "default namespace"},
		{"no namespace", checkNotDefaultNamespace, res(typeDeployment, "d", map[string]any{"metadata": map[string]any{"name": "d"}}), nil, "default namespace"},
		{"by digest", checkImageDigest, pod(nil, map[string]any{"image": "registry/app@sha256:abc"}), nil, ""},
		{"by tag", checkImageDigest, good, nil, "not by digest"},
		{"HPA min 3", checkHPAMinReplicas, res(typeHPA, "h", map[string]any{"spec": map[string]any{"minReplicas": 3}}), nil, ""},
		{"HPA min 1", checkHPAMinReplicas, res(typeHPA, "h", map[string]any{"spec": map[string]any{"minReplicas": 1}}), nil, "keeps 1 pod"},
		{"HPA default min", checkHPAMinReplicas, res(typeHPA, "h", map[string]any{"spec": map[string]any{}}), nil, "keeps 1 pod"},
		{"HPA min 2 under a bound of 3", checkHPAMinReplicas, res(typeHPA, "h", map[string]any{"spec": map[string]any{"minReplicas": 2}}),
			map[string]any{"minReplicas": float64(3)}, "keep 3"},
		{"spread over zones", checkTopologySpread, good, nil, ""},
		{"not spread", checkTopologySpread, pod(map[string]any{"topologySpreadConstraints": []any{}}, nil), nil, "over zones"},
		{"ClusterIP", checkServiceClusterIP, res(typeService, "s", map[string]any{"metadata": map[string]any{"namespace": "eduai"},
			"spec": map[string]any{"type": "ClusterIP"}}), nil, ""},
		{"the ingress NLB", checkServiceClusterIP, res(typeService, "s", map[string]any{"metadata": map[string]any{"namespace": "istio-ingress"},
			"spec": map[string]any{"type": "LoadBalancer"}}), nil, ""},
		{"a service's own NLB", checkServiceClusterIP, res(typeService, "s", map[string]any{"metadata": map[string]any{"namespace": "eduai"},
			"spec": map[string]any{"type": "LoadBalancer"}}), nil, "bypasses the ingress"},
		{"NodePort", checkServiceClusterIP, res(typeService, "s", map[string]any{"metadata": map[string]any{"namespace": "eduai"},
			"spec": map[string]any{"type": "NodePort"}}), nil, "NodePort"},
		{"plain Ingress", checkIngressNoSnippets, res(typeIngress, "i", map[string]any{"metadata": map[string]any{"annotations": map[string]any{
			"nginx.ingress.kubernetes.io/limit-rps": "1000"}}}), nil, ""},
		{"snippet", checkIngressNoSnippets, res(typeIngress, "i", map[string]any{"metadata": map[string]any{"annotations": map[string]any{
			"nginx.ingress.kubernetes.io/server-snippet": "lua"}}}), nil, "server-snippet"},
		{"narrow Role", checkRBACLeastPrivilege, res(typeRole, "r", map[string]any{"rules": []any{map[string]any{
			"verbs": []string{"get", "list"}, "resources": []string{"configmaps"}}}}), nil, ""},
		{"wildcard ClusterRole", checkRBACLeastPrivilege, res(typeClusterRole, "r", map[string]any{"rules": []any{map[string]any{
			"verbs": []string{"*"}, "resources": []string{"pods"}}}}), nil, "wildcard"},
		{"escalate", checkRBACLeastPrivilege, res(typeClusterRole, "r", map[string]any{"rules": []any{map[string]any{
			"verbs": []string{"escalate"}, "resources": []string{"clusterroles"}}}}), nil, "escalate"},
		{"webhook writer", checkRBACLeastPrivilege, res(typeClusterRole, "r", map[string]any{"rules": []any{map[string]any{
			"verbs": []string{"create", "update"}, "resources": []string{"mutatingwebhookconfigurations"}}}}), nil, "write access"},
		{"DestinationRule with mTLS", checkDestinationRuleTLS, res(typeDestRule, "d", map[string]any{"spec": map[string]any{
			"host": "a", "trafficPolicy": map[string]any{"tls": map[string]any{"mode": "ISTIO_MUTUAL"}}}}), nil, ""},
		{"DestinationRule without TLS", checkDestinationRuleTLS, res(typeDestRule, "d", map[string]any{"spec": map[string]any{
			"host": "a", "subsets": []any{map[string]any{"name": "v1", "trafficPolicy": map[string]any{"tls": map[string]any{"mode": "DISABLE"}}}}}}), nil, "DISABLE"},
	})

	sa := func(automount any) policyx.AnalyzerResource {
		m := map[string]any{"metadata": map[string]any{"name": "app", "namespace": "eduai"}}
		if automount != nil {
			m["automountServiceAccountToken"] = automount
		}
		return res(typeServiceAccount, "app", m)
	}
	runStackCases(t, ServiceAccountFindings, []stackCase{
		{"own account without a token", rs(good, sa(false)), 0},
		{"own account with a token", rs(good, sa(true)), 1},
		{"account token left to the default", rs(good, sa(nil)), 1},
		{"the pod opts out", rs(pod(map[string]any{"automountServiceAccountToken": false}, nil), sa(true)), 0},
		{"the pod opts in over its account", rs(pod(map[string]any{"automountServiceAccountToken": true}, nil), sa(false)), 1},
		{"the pod's setting not known yet", rs(pod(map[string]any{"automountServiceAccountToken": unknown}, nil), sa(true)), 0},
		{"default account", rs(pod(map[string]any{"serviceAccountName": "default"}, nil)), 1},
		// Issue #20: each cluster's workloads are judged by that cluster's account.
		{"the DR account mounts a token", clusters(good, "k8s", sa(false), "k8s", good, "dr-k8s", sa(true), "dr-k8s"), 1},
		{"both accounts without a token", clusters(good, "k8s", sa(false), "k8s", good, "dr-k8s", sa(false), "dr-k8s"), 0},
	})

	ns := func(injected bool) policyx.AnalyzerResource {
		labels := map[string]any{}
		if injected {
			labels["istio-injection"] = "enabled"
		}
		return res(typeNamespace, "eduai", map[string]any{"metadata": map[string]any{"name": "eduai", "labels": labels}})
	}
	deny := res(typeAuthzPolicy, "deny", map[string]any{"metadata": map[string]any{"namespace": "eduai"}, "spec": map[string]any{}})
	allow := res(typeAuthzPolicy, "allow", map[string]any{"metadata": map[string]any{"namespace": "eduai"},
		"spec": map[string]any{"action": "ALLOW"}})
	runStackCases(t, MeshDefaultDenyFindings, []stackCase{
		{"deny-all", rs(ns(true), deny, allow), 0},
		{"only allows", rs(ns(true), allow), 1},
		{"not meshed", rs(ns(false)), 0},
		// Issue #20: the DR cluster's deny-all does not cover the primary's namespace.
		{"deny-all in the other cluster only", clusters(ns(true), "k8s", ns(true), "dr-k8s", deny, "dr-k8s"), 1},
		{"deny-all in each cluster", clusters(ns(true), "k8s", deny, "k8s", ns(true), "dr-k8s", deny, "dr-k8s"), 0},
	})
}

// Exceptions from config let a named resource off a named rule, for a reason.
func TestExceptions(t *testing.T) {
	vpc := res(typeVpc, "vpc", map[string]any{"tags": allTags})
	cfg, err := ParseConfig([]byte(`{"all":"disabled","network-vpc-flow-logs":"mandatory","policy-exceptions":{
		"enforcementLevel":"advisory","exceptions":[{"policy":"network-vpc-flow-logs","urn":"`+vpc.URN+`",
		"reason":"a lab VPC without traffic"}]}}`), Policies())
	if err != nil {
		t.Fatal(err)
	}
	vs, err := Evaluate(t.Context(), Policies(), rs(vpc), cfg)
	if err != nil || len(vs) != 0 {
		t.Errorf("excepted VPC: %v %v", vs, err)
	}
	cfg, _ = ParseConfig([]byte(`{"all":"disabled","network-vpc-flow-logs":"mandatory"}`), Policies())
	if vs, _ := Evaluate(t.Context(), Policies(), rs(vpc), cfg); len(vs) != 1 {
		t.Errorf("without the exception: %v", vs)
	}
	for _, bad := range []string{
		`{"policy-exceptions":{"exceptions":[{"policy":"network-vpc-flow-logs","urn":"u"}]}}`,
		`{"policy-exceptions":{"exceptions":[{"policy":"no-such-rule","urn":"u","reason":"r"}]}}`,
		`{"policy-exceptions":{"exceptions":[{"policy":"network-vpc-flow-logs","reason":"r"}]}}`,
	} {
		if _, err := ParseConfig([]byte(bad), Policies()); err == nil {
			t.Errorf("accepted %s", bad)
		}
	}
}

func TestBrokerVersion(t *testing.T) {
	runResourceCases(t, []resourceCase{
		{"RabbitMQ 3.13", checkBrokerVersion, res(typeMQBroker, "q", map[string]any{"engineType": "RabbitMQ", "engineVersion": "3.13"}), nil, ""},
		{"RabbitMQ 3.11", checkBrokerVersion, res(typeMQBroker, "q", map[string]any{"engineType": "RabbitMQ", "engineVersion": "3.11.28"}), nil, "older than 3.13"},
		{"Kafka 3.8.x", checkBrokerVersion, res(typeMSKCluster, "k", map[string]any{"kafkaVersion": "3.8.x"}), nil, ""},
		{"Kafka 2.8.1", checkBrokerVersion, res(typeMSKCluster, "k", map[string]any{"kafkaVersion": "2.8.1"}), nil, "older than 3.6"},
		{"Kafka 3.6 under a raised bound", checkBrokerVersion, res(typeMSKCluster, "k", map[string]any{"kafkaVersion": "3.6.0"}),
			map[string]any{"minimumVersions": map[string]any{"kafka": "3.7"}}, "older than 3.7"},
		{"MQ without minor upgrades", checkBroker, res(typeMQBroker, "q", map[string]any{"publiclyAccessible": false,
			"autoMinorVersionUpgrade": false}), nil, "minor version upgrades"},
	})
}

// The compliance report counts, per rule, what passed, failed, was let off or is not its business.
func TestReport(t *testing.T) {
	good := res(typeVpc, "good", map[string]any{"tags": allTags})
	bad := res(typeVpc, "bad", map[string]any{"tags": allTags})
	lab := res(typeVpc, "lab", map[string]any{"tags": allTags})
	flow := dependsOn(res(typeFlowLog, "fl", map[string]any{"tags": allTags, "logDestination": "arn:aws:logs:::x"}), "vpcId", good)
	plan := rs(good, bad, lab, flow)
	cfg, err := ParseConfig([]byte(`{"network-vpc-flow-logs":"mandatory","data-kms-rotation":"disabled",
		"policy-exceptions":{"exceptions":[{"policy":"network-vpc-flow-logs","urn":"`+lab.URN+`","reason":"lab"}]}}`), Policies())
	if err != nil {
		t.Fatal(err)
	}
	vs, err := Evaluate(t.Context(), Policies(), plan, cfg)
	if err != nil {
		t.Fatal(err)
	}
	lines := map[string]RuleReport{}
	for _, l := range Report(plan, vs, cfg) {
		lines[l.Name] = l
	}
	if got := lines[VpcFlowLogs]; got != (RuleReport{Name: VpcFlowLogs, Enforcement: "mandatory", Passed: 1, Violations: 1,
		Excepted: 1, NotApplicable: 1}) {
		t.Errorf("flow logs line %+v", got)
	}
	if got := lines[KMSKeyRotation]; got.Enforcement != "disabled" || got.Passed != 0 || got.NotApplicable != 4 {
		t.Errorf("disabled line %+v", got)
	}
	if len(lines) != len(Rules()) {
		t.Errorf("%d lines for %d rules", len(lines), len(Rules()))
	}
}

func TestLogGroupCMK(t *testing.T) {
	runResourceCases(t, []resourceCase{
		{"with a key", checkLogGroupCMK, res("aws:cloudwatch/logGroup:LogGroup", "l", map[string]any{"kmsKeyId": "arn:aws:kms:k"}), nil, ""},
		{"service key", checkLogGroupCMK, res("aws:cloudwatch/logGroup:LogGroup", "l", map[string]any{"name": "/x"}), nil, "CloudWatch Logs' own key"},
		{"key not known yet", checkLogGroupCMK, res("aws:cloudwatch/logGroup:LogGroup", "l", map[string]any{"kmsKeyId": unknown}), nil, ""},
	})
}
