package rules

import (
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/urn"
	"github.com/pulumi/pulumi/sdk/v3/go/property"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/policyx"
)

// refTo is a resource reference to r, as a component's input holds one.
func refTo(r policyx.AnalyzerResource) property.Value {
	return property.New(property.ResourceReference{URN: urn.URN(r.URN), ID: property.New("sg-" + r.Name)})
}

// The classes of issue #20, one table case each: the rules judge what a
// resource does, not whether a flag or a companion exists. Each case failed
// (passed a weakening) before the fix it names; the mutation suite
// (mutation_test.go) finds the same on the recorded prod plan.

func TestEffectNetwork(t *testing.T) {
	sg := res(typeSecurityGroup, "api", map[string]any{"id": "sg-api"})
	rule := func(name, cidr string) policyx.AnalyzerResource {
		return dependsOn(res(typeSGIngressRule, name, map[string]any{"ipProtocol": "tcp", "fromPort": 443, "toPort": 443,
			"cidrIpv4": cidr}), "securityGroupId", sg)
	}
	wide := dependsOn(res(typeSGIngressRule, "all-ports", map[string]any{"ipProtocol": "-1", "fromPort": 0, "toPort": 0,
		"cidrIpv4": "128.0.0.0/1"}), "securityGroupId", sg)
	runStackCases(t, PublicIngress, []stackCase{
		{"halves of the address space in two rules", rs(sg, rule("low", "0.0.0.0/1"), rule("high", "128.0.0.0/1")), 2},
		{"a half and an all-ports rule", rs(sg, rule("low", "0.0.0.0/1"), wide), 1},
		{"one half only", rs(sg, rule("low", "0.0.0.0/1")), 0},
		{"halves on different groups", rs(sg, rule("low", "0.0.0.0/1"), res(typeSGIngressRule, "elsewhere",
			map[string]any{"ipProtocol": "tcp", "fromPort": 443, "toPort": 443, "cidrIpv4": "128.0.0.0/1"})), 0},
	})

	db := res(typeSecurityGroup, "db", map[string]any{"id": "sg-db"})
	ownRule := dependsOn(res(typeSGIngressRule, "db-5432", map[string]any{"ipProtocol": "tcp"}), "securityGroupId", db)
	component := res("eks:index:Cluster", "cluster", map[string]any{"clusterSecurityGroup": refTo(db)})
	byID := res("aws:msk/cluster:Cluster", "queue", map[string]any{"brokerNodeGroupInfo": map[string]any{
		"securityGroups": []string{"sg-db"}}})
	runStackCases(t, SecurityGroupAttachedFindings, []stackCase{
		{"only its own rule refers to it", rs(db, ownRule), 1},
		{"a component takes it by reference", rs(db, ownRule, component), 0},
		{"a resource names its id", rs(db, byID), 0},
	})

	vpc := res(typeVpc, "vpc", map[string]any{"id": "vpc-1"})
	runStackCases(t, VpcsWithoutFlowLogs, []stackCase{
		{"a flow log with no destination", rs(vpc, res(typeFlowLog, "fl", map[string]any{"vpcId": "vpc-1"})), 1},
		{"a flow log to CloudWatch", rs(vpc, res(typeFlowLog, "fl", map[string]any{"vpcId": "vpc-1",
			"logDestination": "arn:aws:logs:us-west-2:1:log-group:/flow"})), 0},
	})
}

func TestEffectCluster(t *testing.T) {
	eks := func(key any) policyx.AnalyzerResource {
		return res(typeEKSComponent, "cluster", map[string]any{"encryptionConfigKeyArn": key, "endpointPublicAccess": false})
	}
	runResourceCases(t, []resourceCase{
		{"an empty key", checkSecretsEncryption, eks(""), nil, "does not encrypt"},
		{"the AWS-managed alias", checkSecretsEncryption, eks("alias/aws/eks"), nil, "does not encrypt"},
		{"a key of ours", checkSecretsEncryption, eks("arn:aws:kms:us-west-2:1:key/k"), nil, ""},
		{"a launch template with a key pair", checkNodeGroupNoSSH, res(typeLaunchTemplate, "lt",
			map[string]any{"keyName": "ops"}), nil, "key pair"},
		{"a launch template without one", checkNodeGroupNoSSH, res(typeLaunchTemplate, "lt", map[string]any{}), nil, ""},
	})
	noMappings := res(typeLaunchTemplate, "lt", map[string]any{"blockDeviceMappings": []any{}})
	ebsDefault := res(typeEBSDefault, "ebs", map[string]any{"enabled": true})
	runStackCases(t, NodeVolumeFindings, []stackCase{
		{"no mapping: the AMI's root volume", rs(noMappings), 1},
		{"no mapping, EBS encryption by default on", rs(noMappings, ebsDefault), 0},
	})
}

func TestEffectData(t *testing.T) {
	cluster := func(engine, version string) policyx.AnalyzerResource {
		return res(typeRDSCluster, "db", map[string]any{"engine": engine, "engineVersion": version})
	}
	params := func(kv ...string) policyx.AnalyzerResource {
		var list []any
		for i := 0; i < len(kv); i += 2 {
			list = append(list, map[string]any{"name": kv[i], "value": kv[i+1]})
		}
		return res(typeClusterParams, "params", map[string]any{"parameters": list})
	}
	with := func(c, p policyx.AnalyzerResource) []policyx.AnalyzerResource {
		return rs(dependsOn(c, "dbClusterParameterGroupName", p), p)
	}
	runStackCases(t, RDSTLSFindings, []stackCase{
		{"rds.force_ssl 0", with(cluster("aurora-postgresql", "16.6"), params("rds.force_ssl", "0")), 1},
		{"rds.force_ssl 1", with(cluster("aurora-postgresql", "16.6"), params("rds.force_ssl", "1")), 0},
		{"PostgreSQL 16's default", with(cluster("aurora-postgresql", "16.6"), params("log_min_duration_statement", "1000")), 0},
		{"PostgreSQL 14's default", rs(cluster("aurora-postgresql", "14.12")), 1},
		{"MySQL without require_secure_transport", rs(cluster("aurora-mysql", "8.0.mysql_aurora.3.08.0")), 1},
		{"MySQL with it", with(cluster("aurora-mysql", "8.0.mysql_aurora.3.08.0"), params("require_secure_transport", "ON")), 0},
	})

	logged := func(c policyx.AnalyzerResource, p policyx.AnalyzerResource) []policyx.AnalyzerResource {
		c.Properties = props(map[string]any{"engine": "aurora-postgresql", "engineVersion": "16.6",
			"enabledCloudwatchLogsExports": []string{"postgresql"}, "copyTagsToSnapshot": true})
		return with(c, p)
	}
	runStackCases(t, RDSLoggingFindings, []stackCase{
		{"slow statements without log_statement (CKV2_AWS_27)", logged(cluster("", ""),
			params("log_min_duration_statement", "1000")), 1},
		{"log_statement none", logged(cluster("", ""), params("log_min_duration_statement", "1000", "log_statement", "none")), 1},
		{"both", logged(cluster("", ""), params("log_min_duration_statement", "1000", "log_statement", "ddl")), 0},
	})

	redis := func(extra map[string]any) policyx.AnalyzerResource {
		p := map[string]any{"kmsKeyId": "arn:aws:kms:k", "atRestEncryptionEnabled": true, "transitEncryptionEnabled": true,
			"authToken": "t0ken", "automaticFailoverEnabled": true, "multiAzEnabled": true, "replicasPerNodeGroup": 1}
		for k, v := range extra {
			p[k] = v
		}
		return res(typeReplicationGroup, "cache", p)
	}
	runResourceCases(t, []resourceCase{
		{"transit preferred admits plaintext", checkRedisEncryption, redis(map[string]any{"transitEncryptionMode": "preferred"}), nil, "preferred"},
		{"transit required", checkRedisEncryption, redis(map[string]any{"transitEncryptionMode": "required"}), nil, ""},
		{"no replica to fail over to", checkRedisMultiAZ, redis(map[string]any{"replicasPerNodeGroup": 0}), nil, "no automatic failover"},
		{"one node", checkRedisMultiAZ, redis(map[string]any{"replicasPerNodeGroup": nil, "numCacheClusters": 1}), nil,
			"no automatic failover"},
	})
}

func TestEffectPolicyDocuments(t *testing.T) {
	role := func(doc string) policyx.AnalyzerResource {
		return res(typeIAMRole, "r", map[string]any{"assumeRolePolicy": doc})
	}
	policy := func(stmt string) policyx.AnalyzerResource {
		return res(typeIAMRolePolicy, "p", map[string]any{"policy": `{"Version":"2012-10-17","Statement":[` + stmt + `]}`})
	}
	key := func(stmt string) policyx.AnalyzerResource {
		return res(typeKMSKey, "k", map[string]any{"policy": `{"Version":"2012-10-17","Statement":[` + stmt + `]}`})
	}
	runResourceCases(t, []resourceCase{
		// Trust (CKV_AWS_60 fails a wildcard principal whatever the condition; CKV_AWS_61 wants account principals held).
		{"anyone, with a condition", checkRoleTrust, role(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow",` +
			`"Principal":{"AWS":"*"},"Action":"sts:AssumeRole","Condition":{"Bool":{"aws:SecureTransport":"true"}}}]}`), nil,
			"any principal"},
		{"NotPrincipal", checkRoleTrust, role(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow",` +
			`"NotPrincipal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole"}]}`), nil, "everyone but"},
		{"another account's root", checkRoleTrust, role(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow",` +
			`"Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"sts:AssumeRole"}]}`), nil, "account 111122223333"},
		{"another account with its ExternalId", checkRoleTrust, role(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow",` +
			`"Principal":{"AWS":"111122223333"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"x-1"}}}]}`),
			nil, ""},
		// Grants: NotAction, patterns, escalations, inline policies, attachments.
		{"NotAction on everything", checkPolicyNotAdmin, policy(`{"Effect":"Allow","NotAction":["iam:*"],"Resource":"*"}`),
			nil, "NotAction"},
		{"a pattern that reaches an escalation", checkPolicyNotAdmin, policy(`{"Effect":"Allow","Action":"iam:*Policy*","Resource":"*"}`),
			nil, "on every resource"},
		{"iam:Put* on everything", checkPolicyNotAdmin, policy(`{"Effect":"Allow","Action":["iam:Put*"],"Resource":"*"}`),
			nil, "iam:PutRolePolicy"},
		{"iam:PassRole on one role", checkPolicyNotAdmin, policy(`{"Effect":"Allow","Action":"iam:PassRole",` +
			`"Resource":"arn:aws:iam::1:role/deploy"}`), nil, ""},
		{"a role's inline admin policy", checkPolicyNotAdmin, res(typeIAMRole, "r", map[string]any{"inlinePolicies": []any{
			map[string]any{"name": "debug", "policy": `{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`}}}),
			nil, "inline policy"},
		{"AdministratorAccess by PolicyAttachment", checkPolicyNotAdmin, res("aws:iam/policyAttachment:PolicyAttachment", "a",
			map[string]any{"policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}), nil, "AdministratorAccess"},
		{"a managed policy of every action", checkPolicyNotAdmin, res(typeIAMPolicy, "m", map[string]any{"policy": `{"Statement":{"Effect":"Allow","Action":"*:*","Resource":"*"}}`}), nil, "every action"},
		// KMS (CKV_AWS_33 skips any statement with a condition; we want one that names the caller).
		{"a key for anyone over TLS", checkKMSKeyPolicy, key(`{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"kms:Decrypt",` +
			`"Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"true"}}}`), nil, "names the caller"},
		{"a key for anyone of our account", checkKMSKeyPolicy, key(`{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"kms:Decrypt",` +
			`"Resource":"*","Condition":{"StringEquals":{"kms:CallerAccount":"123456789012"}}}`), nil, ""},
		{"a key for any account", checkKMSKeyPolicy, key(`{"Effect":"Allow","Principal":"*","Action":"kms:Decrypt",` +
			`"Resource":"*","Condition":{"StringLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/*"}}}`), nil, "names the caller"},
		// The confused-deputy guard holds to an account, not to "*".
		{"aws:SourceAccount *", checkServiceSourceGuard, role(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow",` +
			`"Principal":{"Service":"s3.amazonaws.com"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"aws:SourceAccount":"*"}}}]}`),
			nil, "confused deputy"},
	})

	bucket := res(typeBucket, "content", map[string]any{"bucket": "content"})
	bucketPolicy := func(stmts string) policyx.AnalyzerResource {
		return dependsOn(res(typeBucketPolicy, "content", map[string]any{"policy": `{"Version":"2012-10-17","Statement":[` +
			stmts + `]}`}), "bucket", bucket)
	}
	const tls = `{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::content","arn:aws:s3:::content/*"],` +
		`"Condition":{"Bool":{"aws:SecureTransport":"false"}}}`
	runStackCases(t, BucketPolicyFindings, []stackCase{
		{"TLS-only", rs(bucket, bucketPolicy(tls)), 0},
		{"the condition flipped", rs(bucket, bucketPolicy(`{"Effect":"Deny","Principal":"*","Action":"s3:*",`+
			`"Resource":["arn:aws:s3:::content","arn:aws:s3:::content/*"],"Condition":{"Bool":{"aws:SecureTransport":"true"}}}`)), 1},
		{"one action denied", rs(bucket, bucketPolicy(`{"Effect":"Deny","Principal":"*","Action":"s3:PutObject",`+
			`"Resource":["arn:aws:s3:::content","arn:aws:s3:::content/*"],"Condition":{"Bool":{"aws:SecureTransport":"false"}}}`)), 1},
		{"the bucket without its objects", rs(bucket, bucketPolicy(`{"Effect":"Deny","Principal":"*","Action":"s3:*",`+
			`"Resource":"arn:aws:s3:::content","Condition":{"Bool":{"aws:SecureTransport":"false"}}}`)), 1},
		{"anyone allowed over TLS", rs(bucket, bucketPolicy(tls+`,{"Effect":"Allow","Principal":"*","Action":"s3:GetObject",`+
			`"Resource":"arn:aws:s3:::content/*","Condition":{"Bool":{"aws:SecureTransport":"true"}}}`)), 1},
		{"PutBucketPolicy denied to everyone", rs(bucket, bucketPolicy(tls+`,{"Effect":"Deny","Principal":"*",`+
			`"Action":"s3:PutBucketPolicy","Resource":"arn:aws:s3:::content"}`)), 1},
		{"anyone of our organization", rs(bucket, bucketPolicy(tls+`,{"Effect":"Allow","Principal":"*","Action":"s3:GetObject",`+
			`"Resource":"arn:aws:s3:::content/*","Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-abc123"}}}`)), 0},
	})
}

func TestEffectWorkloads(t *testing.T) {
	uid0 := with([]string{"securityContext", "runAsUser"}, 0)
	runResourceCases(t, []resourceCase{
		{"UID 0 under runAsNonRoot", checkWorkloadHardened, workloadRes(typeDeployment, 3, uid0), nil, "UID 0"},
		{"UID 10001", checkWorkloadHardened, workloadRes(typeDeployment, 3, with([]string{"securityContext", "runAsUser"}, 10001)),
			nil, ""},
	})
	rollout := func(start int) policyx.AnalyzerResource {
		return res(typeRollout, "r", map[string]any{"spec": map[string]any{"strategy": map[string]any{"canary": map[string]any{
			"steps":    []any{map[string]any{"setWeight": 5}, map[string]any{"pause": map[string]any{}}},
			"analysis": map[string]any{"startingStep": start, "templates": []any{map[string]any{"templateName": "t"}}}}}}})
	}
	runResourceCases(t, []resourceCase{
		{"analysis from the first pause", checkCanaryAnalysis, rollout(1), nil, ""},
		{"analysis after the last step", checkCanaryAnalysis, rollout(2), nil, "no analysis"},
	})
	dr := func(host, mode string) policyx.AnalyzerResource {
		return res(typeDestRule, "d", map[string]any{"spec": map[string]any{"host": host,
			"trafficPolicy": map[string]any{"tls": map[string]any{"mode": mode}}}})
	}
	runResourceCases(t, []resourceCase{
		{"SIMPLE to a mesh host", checkDestinationRuleTLS, dr("media-service", "SIMPLE"), nil, "replaced"},
		{"SIMPLE to an external host", checkDestinationRuleTLS, dr("api.stripe.com", "SIMPLE"), nil, ""},
		{"ISTIO_MUTUAL", checkDestinationRuleTLS, dr("media-service.eduai.svc.cluster.local", "ISTIO_MUTUAL"), nil, ""},
	})
}

func TestEffectDefaultNamespace(t *testing.T) {
	inDefault := func(typ string) policyx.AnalyzerResource {
		return res(typ, "x", map[string]any{"metadata": map[string]any{"name": "x", "namespace": "default"}})
	}
	runResourceCases(t, []resourceCase{
		{"a Secret in default", checkNotDefaultNamespace, inDefault("kubernetes:core/v1:Secret"), nil, "default namespace"},
		{"a ConfigMap in default", checkNotDefaultNamespace, inDefault("kubernetes:core/v1:ConfigMap"), nil, "default namespace"},
		{"a RoleBinding in default", checkNotDefaultNamespace,
			inDefault("kubernetes:rbac.authorization.k8s.io/v1:RoleBinding"), nil, "default namespace"},
	})
}

func TestEffectRBAC(t *testing.T) {
	role := func(rule map[string]any) policyx.AnalyzerResource {
		return res(typeClusterRole, "r", map[string]any{"rules": []any{rule}})
	}
	runResourceCases(t, []resourceCase{
		{"every API group", checkRBACLeastPrivilege, role(map[string]any{"apiGroups": []string{"*"},
			"resources": []string{"deployments"}, "verbs": []string{"get"}}), nil, "API group"},
		{"approving CSRs", checkRBACLeastPrivilege, role(map[string]any{"apiGroups": []string{"certificates.k8s.io"},
			"resources": []string{"certificatesigningrequests/approval"}, "verbs": []string{"update"}}), nil, "approval"},
		{"reading deployments", checkRBACLeastPrivilege, role(map[string]any{"apiGroups": []string{"apps"},
			"resources": []string{"deployments"}, "verbs": []string{"get", "list"}}), nil, ""},
	})
}

func TestEffectKubernetesCompanions(t *testing.T) {
	ns := func(name string, labels map[string]any) policyx.AnalyzerResource {
		return res(typeNamespace, name, map[string]any{"metadata": map[string]any{"name": name, "labels": labels}})
	}
	np := func(name string, spec map[string]any) policyx.AnalyzerResource {
		return res(typeNetworkPolicy, name, map[string]any{"metadata": map[string]any{"name": name, "namespace": "eduai"},
			"spec": spec})
	}
	deny := np("deny", map[string]any{"podSelector": map[string]any{}, "policyTypes": []string{"Ingress", "Egress"}})
	ingressOnly := np("deny", map[string]any{"podSelector": map[string]any{}, "policyTypes": []string{"Ingress"}})
	allowAll := np("deny", map[string]any{"podSelector": map[string]any{}, "policyTypes": []string{"Ingress"},
		"ingress": []any{map[string]any{}}})
	egressList := np("allow", map[string]any{"podSelector": map[string]any{"matchLabels": map[string]any{"app": "a"}},
		"policyTypes": []string{"Egress"}, "egress": []any{map[string]any{"ports": []any{map[string]any{"port": 5432}}}}})
	eduai := ns("eduai", map[string]any{})
	runStackCases(t, NetworkPolicyFindings, []stackCase{
		{"a namespace created for workloads, no deny", rs(eduai), 1},
		{"a deny with an allow-all rule", rs(eduai, allowAll), 1},
		{"an egress allow-list without an egress deny", rs(eduai, ingressOnly, egressList), 1},
		{"an egress allow-list with an egress deny", rs(eduai, deny, egressList), 0},
	})

	meshedNS := ns("eduai", map[string]any{"istio-injection": "enabled"})
	pa := func(namespace string, spec map[string]any) policyx.AnalyzerResource {
		return res(typePeerAuthentication, "pa-"+namespace, map[string]any{"metadata": map[string]any{"name": "default",
			"namespace": namespace}, "spec": spec})
	}
	strict := map[string]any{"mtls": map[string]any{"mode": "STRICT"}}
	runStackCases(t, MeshWideMTLSFindings, []stackCase{
		{"a meshed namespace, no PeerAuthentication", rs(meshedNS), 1},
		{"only a namespace PeerAuthentication", rs(meshedNS, pa("eduai", strict)), 1},
		{"a root PeerAuthentication with a selector", rs(meshedNS, pa(meshRootNamespace, map[string]any{
			"selector": map[string]any{"matchLabels": map[string]any{"app": "x"}}, "mtls": map[string]any{"mode": "STRICT"}})), 1},
		{"mesh-wide", rs(meshedNS, pa(meshRootNamespace, strict)), 0},
		{"in the other cluster only", clusters(meshedNS, "primary", pa(meshRootNamespace, strict), "dr"), 1},
		{"a revision-labelled namespace", rs(ns("eduai", map[string]any{"istio.io/rev": "1-29"})), 1},
	})

	sa := res(typeServiceAccount, "sa", map[string]any{"metadata": map[string]any{"name": "auth-service", "namespace": "eduai"},
		"automountServiceAccountToken": false})
	w := workloadRes(typeDeployment, 3, goodContainer())
	w.Properties = props(map[string]any{"metadata": map[string]any{"name": "auth-service", "namespace": "eduai"},
		"spec": map[string]any{"template": map[string]any{"spec": map[string]any{"serviceAccountName": "auth-service",
			"automountServiceAccountToken": false, "containers": []any{goodContainer()}}}}})
	runStackCases(t, ServiceAccountFindings, []stackCase{
		{"its account exists", rs(w, sa), 0},
		{"its account is not created", rs(w), 1},
		{"its account is in the other cluster", clusters(w, "primary", sa, "dr"), 1},
	})
}
