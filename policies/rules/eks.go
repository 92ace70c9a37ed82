package rules

import (
	"encoding/base64"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/property"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/policyx"
)

const (
	// typeEKSComponent is pulumi-eks' remote component: its children are not
	// visible to policies, so the rules read its inputs.
	typeEKSComponent   = "eks:index:Cluster"
	typeEKSCluster     = "aws:eks/cluster:Cluster"
	typeLaunchTemplate = "aws:ec2/launchTemplate:LaunchTemplate"
	typeNodeGroup      = "aws:eks/nodeGroup:NodeGroup"
)

// DefaultMinimumVersion is the oldest Kubernetes minor version the pack accepts.
const DefaultMinimumVersion = "1.33"

// DefaultRequiredLogTypes are the control-plane logs every cluster sends.
var DefaultRequiredLogTypes = []string{"api", "audit", "authenticator"}

// eksSettings reads what the rules check from either kind of cluster.
type eksSettings struct {
	publicEndpoint, publicKnown bool
	publicCIDRs                 []string
	encrypted, encryptionKnown  bool
	logTypes                    []string
	logsKnown                   bool
	version                     string
	versionKnown                bool
}

func readEKS(r policyx.AnalyzerResource) (eksSettings, bool) {
	var s eksSettings
	p := r.Properties
	switch r.Type {
	case typeEKSComponent:
		// The engine hands policies a component resource with no properties
		// (the provider registers it inside Construct); only the offline
		// preview sees its inputs. Under the engine the rules judge the
		// aws:eks/cluster:Cluster that pulumi-eks creates instead.
		if p.Len() == 0 {
			return s, false
		}
		// pulumi-eks opens the public endpoint unless told otherwise.
		pub, present, known := scalar(p, "endpointPublicAccess", property.Value.IsBool, property.Value.AsBool)
		s.publicEndpoint, s.publicKnown = pub || !present, known
		s.publicCIDRs, _ = strList(p, "publicAccessCidrs")
		// A key that is empty or AWS-managed encrypts nothing of ours (issue #20).
		s.encrypted, s.encryptionKnown = customerKey(p, "encryptionConfigKeyArn")
	case typeEKSCluster:
		vpc, _, vpcKnown := object(p, "vpcConfig")
		pub, present, known := scalar(vpc, "endpointPublicAccess", property.Value.IsBool, property.Value.AsBool)
		s.publicEndpoint, s.publicKnown = pub || !present, known && vpcKnown
		s.publicCIDRs, _ = strList(vpc, "publicAccessCidrs")
		enc, present, known := object(p, "encryptionConfig")
		resources, listKnown := strList(enc, "resources")
		provider, _, _ := object(enc, "provider")
		keyOK, keyKnown := customerKey(provider, "keyArn")
		s.encrypted = present && slices.Contains(resources, "secrets") && keyOK
		s.encryptionKnown = known && listKnown && keyKnown
	default:
		return s, false
	}
	s.logTypes, s.logsKnown = strList(p, "enabledClusterLogTypes")
	s.version, _, s.versionKnown = str(p, "version")
	return s, true
}

func checkEndpointPrivate(args policyx.ResourceValidationArgs) error {
	s, ok := readEKS(args.Resource)
	if !ok || !s.publicKnown || !s.publicEndpoint {
		return nil
	}
	from := "from " + strings.Join(s.publicCIDRs, ", ")
	if len(s.publicCIDRs) == 0 || slices.Contains(s.publicCIDRs, "0.0.0.0/0") {
		from = "from anywhere"
	}
	args.Manager.ReportViolation(fmt.Sprintf("EKS cluster %q has a public API endpoint (%s). Set "+
		"eduai:cluster.publicEndpoint: false and reach the API from inside the VPC (CI runners, VPN, SSM); "+
		"where a stack must allow it, list the few CIDRs in eduai:cluster.publicAccessCidrs.",
		args.Resource.Name, from), "")
	return nil
}

func checkSecretsEncryption(args policyx.ResourceValidationArgs) error {
	s, ok := readEKS(args.Resource)
	if !ok || !s.encryptionKnown || s.encrypted {
		return nil
	}
	args.Manager.ReportViolation(fmt.Sprintf("EKS cluster %q does not encrypt Kubernetes secrets with a KMS key. "+
		"Give the cluster encryptionConfigKeyArn (pulumi-eks) or encryptionConfig for \"secrets\" (aws.eks.Cluster); "+
		"the cluster component creates a rotating key for it.", args.Resource.Name), "")
	return nil
}

func checkControlPlaneLogs(args policyx.ResourceValidationArgs) error {
	s, ok := readEKS(args.Resource)
	if !ok || !s.logsKnown {
		return nil
	}
	required := configStrings(args.Config, "requiredLogTypes", DefaultRequiredLogTypes)
	var missing []string
	for _, t := range required {
		if !slices.Contains(s.logTypes, t) {
			missing = append(missing, t)
		}
	}
	if len(missing) > 0 {
		args.Manager.ReportViolation(fmt.Sprintf("EKS cluster %q does not send the control-plane log(s) %s to "+
			"CloudWatch. Add them to eduai:cluster.logTypes.", args.Resource.Name, strings.Join(missing, ", ")), "")
	}
	return nil
}

// minorVersion parses "1.34" into 34.
func minorVersion(v string) (int, bool) {
	major, minor, ok := strings.Cut(v, ".")
	if !ok || major != "1" {
		return 0, false
	}
	n, err := strconv.Atoi(minor)
	return n, err == nil
}

func checkMinimumVersion(args policyx.ResourceValidationArgs) error {
	s, ok := readEKS(args.Resource)
	if !ok || !s.versionKnown {
		return nil
	}
	minimum := DefaultMinimumVersion
	if m, ok := args.Config["minimumVersion"].(string); ok {
		minimum = m
	}
	want, _ := minorVersion(minimum)
	got, ok := minorVersion(s.version)
	switch {
	case s.version == "":
		args.Manager.ReportViolation(fmt.Sprintf("EKS cluster %q does not pin its Kubernetes version. Set "+
			"eduai:cluster.version (at least %s) so an upgrade is a reviewed change.", args.Resource.Name, minimum), "")
	case !ok || got < want:
		args.Manager.ReportViolation(fmt.Sprintf("EKS cluster %q runs Kubernetes %s, older than the minimum %s. "+
			"Raise eduai:cluster.version one minor version at a time.", args.Resource.Name, s.version, minimum), "")
	}
	return nil
}

// withoutLaunchTemplate returns the node groups that name no launch template.
// (Every launch template is judged on its own, so naming one is enough here.)
func withoutLaunchTemplate(rs []policyx.AnalyzerResource) []policyx.AnalyzerResource {
	var out []policyx.AnalyzerResource
	for _, ng := range ofType(rs, typeNodeGroup) {
		if _, present, _ := object(ng.Properties, "launchTemplate"); !present {
			out = append(out, ng)
		}
	}
	return out
}

// NodeMetadataFindings returns a finding for each launch template that allows
// IMDSv1 or a hop limit above 1, and each node group without such a template.
func NodeMetadataFindings(rs []policyx.AnalyzerResource) []Finding {
	var out []Finding
	for _, lt := range ofType(rs, typeLaunchTemplate) {
		md, _, known := object(lt.Properties, "metadataOptions")
		if !known {
			continue
		}
		tokens, _, tokensKnown := str(md, "httpTokens")
		hops, hopsPresent, hopsKnown := num(md, "httpPutResponseHopLimit")
		if tokensKnown && tokens != "required" {
			out = append(out, Finding{URN: lt.URN, Message: fmt.Sprintf("launch template %q allows IMDSv1 "+
				"(metadataOptions.httpTokens is %q). Set httpTokens: required.", lt.Name, tokens)})
		}
		if hopsKnown && hopsPresent && hops > 1 {
			out = append(out, Finding{URN: lt.URN, Message: fmt.Sprintf("launch template %q lets pods reach the node's "+
				"instance metadata (hop limit %v). Set metadataOptions.httpPutResponseHopLimit: 1.", lt.Name, hops)})
		}
	}
	for _, ng := range withoutLaunchTemplate(rs) {
		out = append(out, Finding{URN: ng.URN, Message: fmt.Sprintf("node group %q has no launch template, so "+
			"IMDSv2 and the hop limit are not enforced on its nodes. Give it a launch template with "+
			"metadataOptions.httpTokens: required (the cluster component does).", ng.Name)})
	}
	return out
}

// NodeVolumeFindings returns a finding for each launch template volume that is
// not encrypted, and each node group whose root volume is not set by a launch template.
func NodeVolumeFindings(rs []policyx.AnalyzerResource) []Finding {
	var out []Finding
	for _, lt := range ofType(rs, typeLaunchTemplate) {
		mappings, known := objList(lt.Properties, "blockDeviceMappings")
		if !known {
			continue
		}
		// Without a mapping the root volume is the AMI's, encrypted only if
		// the region's EBS encryption by default is on (issue #20).
		if len(mappings) == 0 && !encryptsByDefault(rs, lt) {
			out = append(out, Finding{URN: lt.URN, Message: fmt.Sprintf("launch template %q maps no volume, so "+
				"its instances' root volume is the AMI's, encrypted only if the region's EBS encryption by default "+
				"is on, which the program does not set. Map the root device with ebs.encrypted: \"true\".", lt.Name)})
		}
		for _, m := range mappings {
			ebs, present, ebsKnown := object(m, "ebs")
			if !present || !ebsKnown {
				continue
			}
			enc, _, encKnown := str(ebs, "encrypted")
			if encKnown && enc != "true" {
				dev, _, _ := str(m, "deviceName")
				out = append(out, Finding{URN: lt.URN, Message: fmt.Sprintf("launch template %q leaves volume %s "+
					"unencrypted. Set ebs.encrypted: \"true\".", lt.Name, dev)})
			}
		}
	}
	for _, ng := range withoutLaunchTemplate(rs) {
		out = append(out, Finding{URN: ng.URN, Message: fmt.Sprintf("node group %q sets no launch template, so its "+
			"root volumes are encrypted only if the account's EBS default says so. Give it a launch template "+
			"with an encrypted root volume (the cluster component does).", ng.Name)})
	}
	return out
}

const typeEBSDefault = "aws:ebs/encryptionByDefault:EncryptionByDefault"

// encryptsByDefault: the program turns on EBS encryption by default in the
// region (the provider) that launches from lt.
func encryptsByDefault(rs []policyx.AnalyzerResource, lt policyx.AnalyzerResource) bool {
	for _, d := range ofType(rs, typeEBSDefault) {
		on, present, known := boolProp(d.Properties, "enabled")
		if (on || !present) && known && d.Provider.URN == lt.Provider.URN {
			return true
		}
	}
	return false
}

// configStrings reads a list of strings from a policy's config, or returns def.
func configStrings(cfg map[string]any, key string, def []string) []string {
	list, ok := cfg[key].([]any)
	if !ok {
		return def
	}
	var out []string
	for _, x := range list {
		if s, ok := x.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

// StandardSupportEnds is when EKS moves each Kubernetes minor version to
// extended support, billed per cluster hour on top (Amazon EKS release
// calendar). Override or extend it with the rule's standardSupportEnds config.
var StandardSupportEnds = map[string]string{
	"1.29": "2025-03-23", "1.30": "2025-07-23", "1.31": "2025-11-26", "1.32": "2026-03-23",
	"1.33": "2026-07-29", "1.34": "2026-12-02", "1.35": "2027-03-27",
}

// clock is the rule's notion of today; tests pin it.
var clock = time.Now

func checkVersionSupport(args policyx.ResourceValidationArgs) error {
	s, ok := readEKS(args.Resource)
	if !ok || !s.versionKnown || s.version == "" {
		return nil
	}
	ends := maps.Clone(StandardSupportEnds)
	if m, ok := args.Config["standardSupportEnds"].(map[string]any); ok {
		for k, v := range m {
			if d, ok := v.(string); ok {
				ends[k] = d
			}
		}
	}
	warn := 90
	if w, ok := args.Config["warnDays"].(float64); ok {
		warn = int(w)
	}
	end, known := ends[s.version]
	if !known {
		return nil
	}
	endDate, err := time.Parse(time.DateOnly, end)
	if err != nil {
		return fmt.Errorf("standardSupportEnds[%s]: %w", s.version, err)
	}
	now := clock()
	switch {
	case !now.Before(endDate):
		args.Manager.ReportViolation(fmt.Sprintf("EKS cluster %q runs Kubernetes %s, out of standard support since %s: "+
			"AWS bills extended support per cluster hour (pulumi-eks has no upgradePolicy to turn it off). Raise "+
			"eduai:cluster.version and the add-on versions with it.", args.Resource.Name, s.version, end), "")
	case now.AddDate(0, 0, warn).After(endDate):
		args.Manager.ReportViolation(fmt.Sprintf("EKS cluster %q runs Kubernetes %s, which leaves standard support on %s; "+
			"after that AWS bills extended support. Plan the upgrade of eduai:cluster.version and the add-on versions.",
			args.Resource.Name, s.version, end), "")
	}
	return nil
}

// checkNodeGroupNoSSH: managed node groups open no SSH access (remoteAccess)
// (CKV_AWS_100), and no launch template hands its instances a key pair (a
// node group launched from a template takes the template's keyName;
// issue #20).
func checkNodeGroupNoSSH(args policyx.ResourceValidationArgs) error {
	r := args.Resource
	if r.Type == typeLaunchTemplate {
		if key, present, _ := str(r.Properties, "keyName"); present && key != "" {
			args.Manager.ReportViolation(fmt.Sprintf("launch template %q gives its instances the key pair %q, "+
				"which opens SSH to them. Remove keyName; reach instances with SSM Session Manager.", r.Name, key), "")
		}
		return nil
	}
	if r.Type != typeNodeGroup {
		return nil
	}
	if _, present, _ := object(r.Properties, "remoteAccess"); present {
		args.Manager.ReportViolation(fmt.Sprintf("node group %q opens SSH to its nodes (remoteAccess). Remove it; "+
			"reach nodes with SSM Session Manager.", r.Name), "")
	}
	return nil
}

// secretPatterns are what AWS credentials look like in user data.
var secretPatterns = []string{"AKIA", "ASIA", "aws_secret_access_key", "AWS_SECRET_ACCESS_KEY"}

// checkLaunchTemplateSafe: node launch templates give no public IP and carry
// no credentials in their user data (CKV_AWS_88, CKV_AWS_46).
func checkLaunchTemplateSafe(args policyx.ResourceValidationArgs) error {
	r := args.Resource
	if r.Type != typeLaunchTemplate {
		return nil
	}
	nics, _ := objList(r.Properties, "networkInterfaces")
	for _, n := range nics {
		v, _, known := str(n, "associatePublicIpAddress")
		b, _, bKnown := boolProp(n, "associatePublicIpAddress")
		if (known && v == "true") || (bKnown && b) {
			args.Manager.ReportViolation(fmt.Sprintf("launch template %q gives nodes a public IP. Nodes live in "+
				"private subnets behind NAT; remove associatePublicIpAddress.", r.Name), "")
		}
	}
	if data, present, known := str(r.Properties, "userData"); present && known {
		text := data
		if decoded, err := base64.StdEncoding.DecodeString(data); err == nil {
			text = string(decoded)
		}
		for _, p := range secretPatterns {
			if strings.Contains(text, p) {
				args.Manager.ReportViolation(fmt.Sprintf("launch template %q's user data holds what looks like an AWS "+
					"credential (%s…). Nodes get credentials from their instance role; remove it.", r.Name, p), "")
				break
			}
		}
	}
	return nil
}

// legacyAddOns are add-ons that must not run: the Kubernetes dashboard (a
// cluster-wide UI with its own credentials) and Helm v2's Tiller.
var legacyAddOns = []string{"kubernetes-dashboard", "tiller"}

// checkNoLegacyAddOns: no Helm release, workload or Service installs the
// Kubernetes dashboard or Tiller (CKV_K8S_33, 34, 44, 45).
func checkNoLegacyAddOns(args policyx.ResourceValidationArgs) error {
	r := args.Resource
	var names []string
	if r.Type == typeHelmRelease {
		chart, _, _ := str(r.Properties, "chart")
		names = append(names, chart)
	}
	if _, containers, ok, known := podTemplate(r); ok && known {
		for _, c := range containers {
			image, _, _ := str(c.props, "image")
			names = append(names, image)
		}
	}
	if r.Type == "kubernetes:core/v1:Service" || r.Type == typeDeployment {
		meta, _, _ := object(r.Properties, "metadata")
		name, _, _ := str(meta, "name")
		names = append(names, name)
	}
	for _, n := range names {
		for _, bad := range legacyAddOns {
			if strings.Contains(strings.ToLower(n), bad) {
				args.Manager.ReportViolation(fmt.Sprintf("%s %q installs %s (%q). Do not run it: use kubectl with "+
					"EKS access entries, and Helm 3 (no Tiller).", r.Type, r.Name, bad, n), "")
				return nil
			}
		}
	}
	return nil
}
