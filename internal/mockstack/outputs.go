package mockstack

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/eduai/infra/internal/providercheck"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

const (
	defaultRegion = "us-west-2"
	// FakeAccount is the account id in every fake ARN.
	FakeAccount = "123456789012"
)

// idPrefixes mirrors the prefixes AWS puts on EC2 ids, so a plan reads like a real one.
var idPrefixes = map[string]string{
	"aws:ec2/launchTemplate:LaunchTemplate":               "lt",
	"aws:ec2/vpc:Vpc":                                     "vpc",
	"aws:ec2/subnet:Subnet":                               "subnet",
	"aws:ec2/internetGateway:InternetGateway":             "igw",
	"aws:ec2/natGateway:NatGateway":                       "nat",
	"aws:ec2/eip:Eip":                                     "eipalloc",
	"aws:ec2/routeTable:RouteTable":                       "rtb",
	"aws:ec2/routeTableAssociation:RouteTableAssociation": "rtbassoc",
	"aws:ec2/securityGroup:SecurityGroup":                 "sg",
	"aws:ec2/defaultSecurityGroup:DefaultSecurityGroup":   "sg",
	"aws:ec2/vpcEndpoint:VpcEndpoint":                     "vpce",
	"aws:ec2/flowLog:FlowLog":                             "fl",
}

// computed fills outputs that AWS computes and the program reads.
var computed = map[string]func(id string, state resource.PropertyMap){
	"aws:ec2/launchTemplate:LaunchTemplate": func(_ string, s resource.PropertyMap) {
		s["latestVersion"] = resource.NewNumberProperty(1)
		s["defaultVersion"] = resource.NewNumberProperty(1)
	},
	"aws:kms/key:Key": func(id string, s resource.PropertyMap) { s["keyId"] = resource.NewStringProperty(id) },
	"aws:rds/cluster:Cluster": func(id string, s resource.PropertyMap) {
		s["endpoint"] = resource.NewStringProperty(id + ".cluster-fake.us-west-2.rds.amazonaws.com")
		s["readerEndpoint"] = resource.NewStringProperty(id + ".cluster-ro-fake.us-west-2.rds.amazonaws.com")
		s["port"] = resource.NewNumberProperty(5432)
	},
	"aws:elasticache/replicationGroup:ReplicationGroup": func(id string, s resource.PropertyMap) {
		s["primaryEndpointAddress"] = resource.NewStringProperty("master." + id + ".fake.usw2.cache.amazonaws.com")
		s["readerEndpointAddress"] = resource.NewStringProperty("replica." + id + ".fake.usw2.cache.amazonaws.com")
		s["configurationEndpointAddress"] = resource.NewStringProperty("clustercfg." + id + ".fake.usw2.cache.amazonaws.com")
	},
	"aws:elasticache/globalReplicationGroup:GlobalReplicationGroup": func(_ string, s resource.PropertyMap) {
		// AWS prefixes the suffix with a regional code.
		if suffix, ok := s["globalReplicationGroupIdSuffix"]; ok && suffix.IsString() {
			s["globalReplicationGroupId"] = resource.NewStringProperty("fake-" + suffix.StringValue())
		}
	},
	// A LoadBalancer Service gets its NLB's name, as the AWS load balancer controller gives it.
	"kubernetes:core/v1:Service": func(id string, s resource.PropertyMap) {
		spec := s["spec"]
		if !spec.IsObject() {
			return
		}
		if t := spec.ObjectValue()["type"]; !t.IsString() || t.StringValue() != "LoadBalancer" {
			return
		}
		host := "k8s-" + shortHash(id, 10) + ".elb.amazonaws.com"
		s["status"] = resource.NewObjectProperty(resource.PropertyMap{"loadBalancer": resource.NewObjectProperty(resource.PropertyMap{
			"ingress": resource.NewArrayProperty([]resource.PropertyValue{resource.NewObjectProperty(resource.PropertyMap{
				"hostname": resource.NewStringProperty(host)})})})})
	},
	"aws:route53/zone:Zone": func(id string, s resource.PropertyMap) {
		s["zoneId"] = resource.NewStringProperty("Z" + strings.ToUpper(shortHash(id, 12)))
		s["nameServers"] = resource.NewArrayProperty([]resource.PropertyValue{
			resource.NewStringProperty("ns-1.awsdns-00.com"), resource.NewStringProperty("ns-2.awsdns-00.net")})
	},
	"aws:msk/cluster:Cluster": func(id string, s resource.PropertyMap) {
		s["bootstrapBrokersSaslIam"] = resource.NewStringProperty("b-1." + id + ".fake.kafka.us-west-2.amazonaws.com:9098")
	},
	"aws:mq/broker:Broker": func(id string, s resource.PropertyMap) {
		s["instances"] = resource.NewArrayProperty([]resource.PropertyValue{resource.NewObjectProperty(resource.PropertyMap{
			"endpoints": resource.NewArrayProperty([]resource.PropertyValue{
				resource.NewStringProperty("amqps://" + id + ".mq.us-west-2.amazonaws.com:5671")}),
		})})
	},
	// A generated password: deterministic, marked secret as the provider marks it.
	"random:index/randomPassword:RandomPassword": func(id string, s resource.PropertyMap) {
		s["result"] = resource.MakeSecret(resource.NewStringProperty("offline-" + shortHash(id, 24)))
	},
}

// autonamed lists the types whose physical name Pulumi generates from the
// logical name when the program gives none (the `name` output).
var autonamed = map[string]bool{
	"aws:iam/role:Role":                                   true,
	"aws:iam/rolePolicy:RolePolicy":                       true,
	"aws:cloudwatch/logGroup:LogGroup":                    true,
	"aws:ec2/securityGroup:SecurityGroup":                 true,
	"aws:rds/subnetGroup:SubnetGroup":                     true,
	"aws:elasticache/subnetGroup:SubnetGroup":             true,
	"aws:secretsmanager/secret:Secret":                    true,
	"aws:elasticache/parameterGroup:ParameterGroup":       true,
	"aws:rds/clusterParameterGroup:ClusterParameterGroup": true,
}

func shortHash(s string, n int) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])[:n]
}

// fakeOutputs returns the id and state an applied stack would report for r.
// Component resources have no id and echo their inputs.
func fakeOutputs(r *Resource, region string) (string, resource.PropertyMap) {
	state := r.Inputs.Copy()
	if !r.Custom {
		for k, v := range RemoteComponentOutputs(r.Type, r.Name, r.Inputs, region) {
			state[k] = v
		}
		return "", state
	}
	if r.IsProvider() {
		return "provider-" + shortHash(r.URN, 8), state
	}
	typ := r.Type
	if typ == typeBucket && !state.HasValue("bucket") {
		prefix := r.Name + "-"
		if p, ok := state["bucketPrefix"]; ok && p.IsString() {
			prefix = p.StringValue()
		}
		state["bucket"] = resource.NewStringProperty(prefix + shortHash(r.URN, 12))
	}
	if (autonamed[typ] || providercheck.Load().NameRequired(typ)) && !state.HasValue("name") {
		prefix := r.Name + "-"
		if p, ok := state["namePrefix"]; ok && p.IsString() {
			prefix = p.StringValue()
		}
		state["name"] = resource.NewStringProperty(prefix + shortHash(r.URN, 7))
	}
	var id string
	if k8sName, ns, ok := kubernetesName(r, state); ok {
		id = k8sName
		if ns != "" {
			id = ns + "/" + k8sName
		}
	}
	switch {
	case id != "":
	case idPrefixes[typ] != "":
		id = idPrefixes[typ] + "-" + shortHash(r.URN, 17)
	case typ == typeBucket:
		id = state["bucket"].StringValue()
	case state.HasValue("clusterIdentifier") && state["clusterIdentifier"].IsString() && typ == "aws:rds/cluster:Cluster":
		id = state["clusterIdentifier"].StringValue()
	case typ == "aws:rds/globalCluster:GlobalCluster" && state["globalClusterIdentifier"].IsString():
		id = state["globalClusterIdentifier"].StringValue()
	case state.HasValue("replicationGroupId") && state["replicationGroupId"].IsString():
		id = state["replicationGroupId"].StringValue()
	case state.HasValue("identifier") && state["identifier"].IsString():
		id = state["identifier"].StringValue()
	case state.HasValue("name") && state["name"].IsString():
		id = state["name"].StringValue()
	default:
		id = lastSegment(typ) + "-" + shortHash(r.URN, 12)
	}
	if pkg, mod := splitType(typ); pkg == "aws" {
		state["arn"] = resource.NewStringProperty(fakeARN(mod, typ, id, region))
		if !state.HasValue("tagsAll") && state.HasValue("tags") {
			state["tagsAll"] = state["tags"]
		}
	}
	if fill := computed[typ]; fill != nil {
		fill(id, state)
	}
	state["id"] = resource.NewStringProperty(id)
	return id, state
}

// kubernetesName gives a Kubernetes object the name the Kubernetes provider
// gives one without metadata.name (the logical name, a dash and eight
// characters), and returns it with its namespace; the provider's id is
// "<namespace>/<name>" (or the name of a cluster-scoped object).
func kubernetesName(r *Resource, state resource.PropertyMap) (name, namespace string, ok bool) {
	if !strings.HasPrefix(r.Type, "kubernetes:") || r.Type == "kubernetes:helm.sh/v3:Release" {
		return "", "", false
	}
	md := resource.PropertyMap{}
	if v, has := state["metadata"]; has && v.IsObject() {
		md = v.ObjectValue().Copy()
	}
	if n, has := md["name"]; has && n.IsString() && n.StringValue() != "" {
		name = n.StringValue()
	} else {
		name = KubernetesAutoName(r.Name, r.URN)
		md["name"] = resource.NewStringProperty(name)
		state["metadata"] = resource.NewObjectProperty(md)
	}
	if n, has := md["namespace"]; has && n.IsString() {
		namespace = n.StringValue()
	}
	// The API server counts spec changes from 1 (metadata.generation).
	if _, has := md["generation"]; !has {
		md["generation"] = resource.NewNumberProperty(1)
		state["metadata"] = resource.NewObjectProperty(md)
	}
	return name, namespace, true
}

// KubernetesAutoName is the name an object without metadata.name gets:
// pulumi-kubernetes names it "<logical name>-<8 hex>" in its Check, so the
// name is known at preview already (provider.go, metadata.AssignNameIfAutonamable);
// here the hex is derived from the URN, so previews and updates agree.
func KubernetesAutoName(name, urn string) string { return name + "-" + shortHash(urn, 8) }

// splitType splits "aws:ec2/vpc:Vpc" into ("aws", "ec2").
func splitType(typ string) (pkg, module string) {
	parts := strings.SplitN(typ, ":", 3)
	if len(parts) != 3 {
		return typ, ""
	}
	module, _, _ = strings.Cut(parts[1], "/")
	return parts[0], module
}

func lastSegment(typ string) string { return strings.ToLower(lastSegmentRaw(typ)) }

// typeBucket is an S3 bucket: named by "bucket", with a region-less ARN.
const typeBucket = "aws:s3/bucketV2:BucketV2"

func fakeARN(module, typ, id, region string) string {
	if typ == typeBucket {
		return "arn:aws:s3:::" + id
	}
	switch module {
	case "iam":
		return fmt.Sprintf("arn:aws:iam::%s:%s/%s", FakeAccount, lowerFirst(lastSegmentRaw(typ)), id)
	case "cloudwatch":
		return fmt.Sprintf("arn:aws:logs:%s:%s:log-group:%s", region, FakeAccount, id)
	}
	return fmt.Sprintf("arn:aws:%s:%s:%s:%s/%s", module, region, FakeAccount,
		strings.ToLower(lastSegmentRaw(typ)), id)
}

func lastSegmentRaw(typ string) string {
	if i := strings.LastIndex(typ, ":"); i >= 0 {
		return typ[i+1:]
	}
	return typ
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToLower(s[:1]) + s[1:]
}

// FakeState returns the id and the state (inputs plus computed outputs) that a
// custom resource gets offline. The engine tests' stand-in providers answer
// with the same values, so an engine run and an offline run agree.
func FakeState(urn, typ, name string, inputs resource.PropertyMap, region string) (string, resource.PropertyMap) {
	if region == "" {
		region = defaultRegion
	}
	return fakeOutputs(&Resource{URN: urn, Type: typ, Name: name, Custom: true, Inputs: inputs}, region)
}

// RemoteComponentOutputs are the outputs the program reads from a remote
// component (one whose children a provider creates, invisible here), given
// offline by the mocks and by the engine tests' stand-in Construct alike.
// A cluster's kubeconfig names the EKS cluster (its name input, else the
// logical name), as pulumi-eks' does.
func RemoteComponentOutputs(typ, name string, inputs resource.PropertyMap, region string) resource.PropertyMap {
	switch typ {
	case "eks:index:Cluster":
		if n := inputs["name"]; n.IsString() && n.StringValue() != "" {
			name = n.StringValue()
		}
		kubeconfig := FakeKubeconfig(name, region)
		return resource.PropertyMap{
			"kubeconfigJson": resource.NewStringProperty(kubeconfig),
			"kubeconfig":     resource.NewStringProperty(kubeconfig),
		}
	}
	return nil
}

// FakeKubeconfig is a kubeconfig for a cluster that does not exist: its
// server is an address nothing listens on, so no client can act on it. Its
// credential is the one pulumi-eks writes (nodejs/eks/cluster.ts,
// generateKubeconfig, v2.8.1): an exec of `aws eks get-token --cluster-name
// <name> --output json`, so a test can check that the deploy image has what
// the kubeconfig runs.
func FakeKubeconfig(cluster, region string) string {
	if region == "" {
		region = defaultRegion
	}
	server := fmt.Sprintf("https://%s.gr7.%s.eks.amazonaws.com.invalid", shortHash(cluster, 32), region)
	return fmt.Sprintf(`{"apiVersion":"v1","kind":"Config","clusters":[{"name":%q,"cluster":{"server":%q}}],`+
		`"contexts":[{"name":%q,"context":{"cluster":%q,"user":%q}}],"current-context":%q,`+
		`"users":[{"name":%q,"user":{"exec":{"apiVersion":"client.authentication.k8s.io/v1beta1","command":"aws",`+
		`"args":["eks","get-token","--cluster-name",%q,"--output","json"],`+
		`"env":[{"name":"KUBERNETES_EXEC_INFO","value":"{\"apiVersion\": \"client.authentication.k8s.io/v1beta1\"}"}]}}}]}`,
		cluster, server, cluster, cluster, cluster, cluster, cluster, cluster)
}
