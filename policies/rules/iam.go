package rules

import (
	"encoding/json"
	"fmt"
	pathpkg "path"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/policyx"
)

const (
	typeIAMRole             = "aws:iam/role:Role"
	typeIAMRolePolicy       = "aws:iam/rolePolicy:RolePolicy"
	typeIAMPolicy           = "aws:iam/policy:Policy"
	typeIAMPolicyAttachment = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
	typeSecret              = "aws:secretsmanager/secret:Secret"
)

// statement is one statement of an IAM policy document, with its lists
// normalized. The rules read a document the way IAM evaluates it (issue
// #20): NotAction and NotPrincipal grant everything they do not name, a
// condition narrows a statement only when it tests who the caller is, and an
// action pattern is matched against what it could grant.
type statement struct {
	Effect     string
	Principals []string // "*" for Principal "*", else every principal value
	// NotPrincipal: the statement applies to everyone but Principals.
	NotPrincipal bool
	Actions      []string
	// NotAction: the statement applies to every action but Actions.
	NotAction  bool
	Resources  []string
	Conditions bool
	// Tests maps a condition operator to its keys (lower-cased) and values.
	Tests map[string]map[string][]string
	// Services are the service principals ("vpc-flow-logs.amazonaws.com").
	Services []string
}

// asList reads a policy field that may be a string or a list of strings
// (booleans, as in {"aws:SecureTransport": false}, are read as their text).
func asList(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case bool:
		return []string{strconv.FormatBool(x)}
	case []any:
		var out []string
		for _, e := range x {
			out = append(out, asList(e)...)
		}
		return out
	}
	return nil
}

// parsePolicy reads an IAM policy document; ok=false when it is not JSON (or not known).
func parsePolicy(doc string) (stmts []statement, ok bool) {
	var raw struct {
		Statement json.RawMessage
	}
	if json.Unmarshal([]byte(doc), &raw) != nil || len(raw.Statement) == 0 {
		return nil, false
	}
	var list []map[string]any
	if json.Unmarshal(raw.Statement, &list) != nil {
		var one map[string]any
		if json.Unmarshal(raw.Statement, &one) != nil {
			return nil, false
		}
		list = []map[string]any{one}
	}
	for _, s := range list {
		st := statement{Actions: asList(s["Action"]), Resources: asList(s["Resource"]), Conditions: s["Condition"] != nil,
			Tests: map[string]map[string][]string{}}
		if na, ok := s["NotAction"]; ok {
			st.Actions, st.NotAction = asList(na), true
		}
		if _, ok := s["NotResource"]; ok && len(st.Resources) == 0 {
			// Every resource but the ones named: as broad as "*" for these rules.
			st.Resources = []string{"*"}
		}
		st.Effect, _ = s["Effect"].(string)
		principal, has := s["Principal"]
		if np, ok := s["NotPrincipal"]; ok && !has {
			principal, st.NotPrincipal = np, true
		}
		switch p := principal.(type) {
		case string:
			st.Principals = []string{p}
		case map[string]any:
			for k, v := range p {
				st.Principals = append(st.Principals, asList(v)...)
				if k == "Service" {
					st.Services = append(st.Services, asList(v)...)
				}
			}
		}
		if cond, ok := s["Condition"].(map[string]any); ok {
			for op, keys := range cond {
				if m, ok := keys.(map[string]any); ok {
					tests := map[string][]string{}
					for k, v := range m {
						tests[strings.ToLower(k)] = asList(v)
					}
					st.Tests[op] = tests
				}
			}
		}
		stmts = append(stmts, st)
	}
	return stmts, true
}

// tests: some condition of the statement tests key (lower-cased), whatever the operator.
func (s statement) tests(key string) bool {
	for _, keys := range s.Tests {
		if _, ok := keys[key]; ok {
			return true
		}
	}
	return false
}

// anyone: the statement applies to every principal — Principal "*",
// {"AWS": "*"}, or a NotPrincipal (everyone but a few).
func (s statement) anyone() bool {
	return s.NotPrincipal || slices.Contains(s.Principals, "*")
}

// callerKeys are the condition keys that hold a statement to named callers:
// an account, organization, role, VPC or endpoint (the keys Checkov's
// CKV_AWS_70 accepts, and aws:SourceAccount/kms:CallerAccount for services
// acting for an account). Tests of the request (aws:SecureTransport,
// aws:RequestTag/…, aws:UserAgent) narrow nothing about who calls.
var callerKeys = []string{"aws:principalaccount", "aws:principalorgid", "aws:principalorgpaths", "aws:principalarn",
	"aws:sourceaccount", "aws:sourceorgid", "aws:sourceorgpaths", "aws:sourcevpce", "aws:sourcevpc", "aws:vpceaccount",
	"aws:userid", "aws:ec2instancesourcevpc", "ec2:sourceinstancearn", "lambda:sourcefunctionarn",
	"ssm:sourceinstancearn", "kms:calleraccount"}

// narrowsCaller: a condition of the statement holds it to named callers —
// a positive operator (StringEquals, StringLike, ArnEquals, ArnLike and
// their IgnoreCase/IfExists forms are not: IfExists passes when the key is
// absent) on a caller key, with values that are not wildcards of any
// account ("*", "arn:aws:iam::*:…").
func (s statement) narrowsCaller() bool { return s.holds(callerKeys...) }

// holds: a positive condition on one of keys, with a value that is not a
// wildcard of any account.
func (s statement) holds(keys ...string) bool {
	for op, tests := range s.Tests {
		switch op {
		case "StringEquals", "StringEqualsIgnoreCase", "StringLike", "ArnEquals", "ArnLike":
		default:
			continue
		}
		for key, values := range tests {
			if !slices.Contains(keys, key) || len(values) == 0 {
				continue
			}
			if !slices.ContainsFunc(values, anyAccount) {
				return true
			}
		}
	}
	return false
}

// anyAccount: a condition value that matches every account.
func anyAccount(v string) bool {
	if v == "*" || v == "" {
		return true
	}
	parts := strings.Split(v, ":")
	return len(parts) >= 5 && parts[0] == "arn" && (parts[4] == "*" || strings.HasPrefix(parts[4], "*"))
}

// grants tells whether the statement's actions reach action ("iam:PutRolePolicy"):
// by a pattern ("iam:*", "iam:Put*", "*"), or by a NotAction that does not name it.
func (s statement) grants(action string) bool {
	matched := slices.ContainsFunc(s.Actions, func(p string) bool { return actionMatches(p, action) })
	return matched != s.NotAction
}

// actionMatches matches an IAM action pattern (* and ?, case-insensitive).
func actionMatches(pattern, action string) bool {
	ok, err := pathpkg.Match(strings.ToLower(pattern), strings.ToLower(action))
	return err == nil && ok
}

// docProp reads a policy document property that is known.
func docProp(r policyx.AnalyzerResource, key string) ([]statement, bool) {
	doc, present, known := str(r.Properties, key)
	if !present || !known {
		return nil, false
	}
	return parsePolicy(doc)
}

// accountPrincipal matches a principal that is a whole account (its root or
// its bare id), which lets every role and user of that account in.
var accountPrincipal = regexp.MustCompile(`^([0-9]{12}|arn:aws[a-z-]*:iam::[0-9]{12}:root)$`)

var accountID = regexp.MustCompile(`[0-9]{12}`)

// checkRoleTrust: a role's trust policy names specific principals (CKV_AWS_60,
// CKV_AWS_61): never anyone (Principal "*", {"AWS": "*"} or NotPrincipal,
// whatever the condition: CKV_AWS_60 fails them all), and a whole account
// only when a condition holds the caller to named roles (aws:PrincipalArn)
// or to the ExternalId agreed with that account (sts:ExternalId, the IAM
// user guide's third-party access).
func checkRoleTrust(args policyx.ResourceValidationArgs) error {
	r := args.Resource
	if r.Type != typeIAMRole {
		return nil
	}
	stmts, ok := docProp(r, "assumeRolePolicy")
	if !ok {
		return nil
	}
	for _, s := range stmts {
		if s.Effect != "Allow" {
			continue
		}
		if s.anyone() || slices.ContainsFunc(s.Principals, func(p string) bool { return p == "arn:aws:iam::*:root" }) {
			who := `"*"`
			if s.NotPrincipal {
				who = "NotPrincipal: everyone but " + strings.Join(s.Principals, ", ")
			}
			args.Manager.ReportViolation(fmt.Sprintf("role %q may be assumed by any principal (%s), which no "+
				"condition makes safe. Name the service, account or OIDC provider that assumes it.", r.Name, who), "")
			continue
		}
		held := s.tests("sts:externalid") || s.tests("aws:principalarn")
		for _, p := range s.Principals {
			if accountPrincipal.MatchString(p) && !held {
				args.Manager.ReportViolation(fmt.Sprintf("role %q lets every principal of account %s assume it "+
					"(%q) without sts:ExternalId or aws:PrincipalArn. Name the roles that assume it, or require the "+
					"ExternalId agreed with that account.", r.Name, accountID.FindString(p), p), "")
			}
		}
	}
	return nil
}

// sourceGuarded are the service principals that, when they act for a
// resource of ours, send aws:SourceAccount and aws:SourceArn, so a trust or
// bucket policy can hold them to our account (the confused-deputy guard of
// the IAM user guide, "The confused deputy problem"). Each service's own
// guide documents the keys; services absent here (EC2 instance roles, AWS
// Backup, EKS and EKS Pod Identity, which scopes by session tags) do not
// document them for role assumption, and a condition on a key a service does
// not send would lock the service out.
var sourceGuarded = map[string]string{
	"vpc-flow-logs.amazonaws.com":  "VPC user guide, IAM role for publishing flow logs to CloudWatch Logs",
	"monitoring.rds.amazonaws.com": "RDS user guide, Enhanced Monitoring: protecting against the confused deputy problem",
	"s3.amazonaws.com":             "S3 user guide, setting up permissions for live replication",
	"logging.s3.amazonaws.com":     "S3 user guide, permissions for server access log delivery",
	"delivery.logs.amazonaws.com":  "CloudWatch Logs user guide, logging that requires additional permissions",
}

// sourceKeys are the keys that hold a service to one account or organization.
var sourceKeys = []string{"aws:sourceaccount", "aws:sourcearn", "aws:sourceorgid", "aws:sourceorgpaths"}

// checkServiceSourceGuard: a role trust policy or bucket policy that lets a
// service principal of sourceGuarded in also tests the source account
// (aws:SourceAccount, or aws:SourceOrgID/OrgPaths); a bucket ARN names no
// account, so for a bucket policy aws:SourceArn alone is not enough. A trust
// policy may use aws:SourceArn alone when it names the account.
func checkServiceSourceGuard(args policyx.ResourceValidationArgs) error {
	r := args.Resource
	key, what := "assumeRolePolicy", "role"
	if r.Type == typeBucketPolicy {
		key, what = "policy", "bucket policy"
	}
	stmts, ok := docProp(r, key)
	if !ok {
		return nil
	}
	for _, s := range stmts {
		if s.Effect != "Allow" {
			continue
		}
		for _, svc := range s.Services {
			source, guarded := sourceGuarded[svc]
			if !guarded {
				continue
			}
			keys := sourceKeys
			if r.Type == typeBucketPolicy {
				keys = []string{"aws:sourceaccount", "aws:sourceorgid", "aws:sourceorgpaths"}
			}
			if !s.holds(keys...) {
				args.Manager.ReportViolation(fmt.Sprintf("%s %q lets %s in without aws:SourceAccount (confused deputy): "+
					"any account's %s could act through it. Add a StringEquals aws:SourceAccount condition (%s).",
					what, r.Name, svc, svc, source), "")
			}
		}
	}
	return nil
}

// adminPolicies are AWS managed policies that grant full or IAM-wide access.
var adminPolicies = []string{"arn:aws:iam::aws:policy/AdministratorAccess", "arn:aws:iam::aws:policy/IAMFullAccess",
	"arn:aws:iam::aws:policy/PowerUserAccess"}

// escalations are the IAM actions that let their holder grant itself more
// (Rhino Security Labs' "AWS IAM privilege escalation methods", the list
// CKV_AWS_286-290 read): a policy that reaches one, by name or pattern,
// on every resource, is as good as an administrator's.
var escalations = []string{"iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion", "iam:AttachRolePolicy",
	"iam:AttachUserPolicy", "iam:AttachGroupPolicy", "iam:PutRolePolicy", "iam:PutUserPolicy", "iam:PutGroupPolicy",
	"iam:UpdateAssumeRolePolicy", "iam:CreateAccessKey", "iam:CreateLoginProfile", "iam:UpdateLoginProfile",
	"iam:AddUserToGroup"}

// attachmentTypes attach a managed policy to roles, users or groups.
var attachmentTypes = []string{typeIAMPolicyAttachment, "aws:iam/policyAttachment:PolicyAttachment",
	"aws:iam/userPolicyAttachment:UserPolicyAttachment", "aws:iam/groupPolicyAttachment:GroupPolicyAttachment"}

// inlinePolicyTypes carry one policy document in "policy".
var inlinePolicyTypes = []string{typeIAMRolePolicy, typeIAMPolicy, "aws:iam/userPolicy:UserPolicy",
	"aws:iam/groupPolicy:GroupPolicy"}

// checkPolicyNotAdmin: no policy of ours allows every action, an IAM
// escalation on every resource, or attaches an administrator managed policy
// (CKV_AWS_62, CKV_AWS_63, CKV_AWS_274, CKV2_AWS_40, CKV2_AWS_56). Read are
// every path that grants (issue #20): role policies, managed policies, user
// and group policies, a role's inlinePolicies and managedPolicyArns, and
// every kind of attachment; NotAction grants what it does not name, and a
// pattern ("iam:*Policy*", "iam:Put*") grants what it matches.
func checkPolicyNotAdmin(args policyx.ResourceValidationArgs) error {
	r := args.Resource
	report := func(what string) { args.Manager.ReportViolation(what, "") }
	switch {
	case slices.Contains(attachmentTypes, r.Type):
		if arn, _, known := str(r.Properties, "policyArn"); known && slices.Contains(adminPolicies, arn) {
			report(fmt.Sprintf("%q attaches %s. Grant the actions the role needs instead.", r.Name, arn))
		}
	case r.Type == typeIAMRole:
		arns, known := strList(r.Properties, "managedPolicyArns")
		for _, arn := range arns {
			if known && slices.Contains(adminPolicies, arn) {
				report(fmt.Sprintf("role %q carries %s. Grant the actions it needs instead.", r.Name, arn))
			}
		}
		inline, _ := objList(r.Properties, "inlinePolicies")
		for _, p := range inline {
			name, _, _ := str(p, "name")
			if doc, present, known := str(p, "policy"); present && known {
				if stmts, ok := parsePolicy(doc); ok {
					for _, m := range adminGrants(stmts) {
						report(fmt.Sprintf("role %q's inline policy %q %s", r.Name, name, m))
					}
				}
			}
		}
	case slices.Contains(inlinePolicyTypes, r.Type):
		stmts, ok := docProp(r, "policy")
		if !ok {
			return nil
		}
		for _, m := range adminGrants(stmts) {
			report(fmt.Sprintf("policy %q %s", r.Name, m))
		}
	}
	return nil
}

// adminGrants lists how a policy document grants administrator power.
func adminGrants(stmts []statement) []string {
	var out []string
	for _, s := range stmts {
		if s.Effect != "Allow" {
			continue
		}
		everywhere := slices.Contains(s.Resources, "*")
		switch {
		case (s.NotAction && everywhere) || (s.grants("ec2:RunInstances") && s.grants("iam:CreateUser") && s.grants("s3:GetObject")):
			what := "allows every action"
			if s.NotAction {
				what = "allows every action but " + strings.Join(s.Actions, ", ") + " (NotAction)"
			}
			if everywhere {
				what += " on every resource"
			}
			out = append(out, what+". List the actions and resources the role needs.")
		case !slices.ContainsFunc(escalations, func(a string) bool { return !s.grants(a) }):
			out = append(out, fmt.Sprintf("allows every IAM action (by %s), which is full control of the account. "+
				"List the IAM actions it needs.", strings.Join(s.Actions, ", ")))
		default:
			for _, a := range escalations {
				if everywhere && s.grants(a) {
					out = append(out, fmt.Sprintf("allows %s on every resource (by %s), with which its holder "+
						"grants itself anything. List the IAM actions it needs and the resources they act on.",
						a, strings.Join(s.Actions, ", ")))
					break
				}
			}
		}
	}
	return out
}

// checkKMSKeyPolicy: a customer-managed key is enabled and its policy, when
// the program sets one, lets no one (Principal "*") use it unless a
// condition names the caller (CKV_AWS_33, which skips any statement with a
// condition; CKV_AWS_227). Without a policy AWS applies the
// default key policy (the account's IAM decides), which is what we want.
func checkKMSKeyPolicy(args policyx.ResourceValidationArgs) error {
	r := args.Resource
	if r.Type != typeKMSKey {
		return nil
	}
	if enabled, present, known := boolProp(r.Properties, "isEnabled"); known && present && !enabled {
		args.Manager.ReportViolation(fmt.Sprintf("KMS key %q is disabled: what it encrypts cannot be read. "+
			"Remove isEnabled: false.", r.Name), "")
	}
	stmts, ok := docProp(r, "policy")
	if !ok {
		return nil
	}
	for _, s := range stmts {
		if s.Effect == "Allow" && s.anyone() && !s.narrowsCaller() {
			args.Manager.ReportViolation(fmt.Sprintf("KMS key %q's policy allows any principal (\"*\") without a "+
				"condition that names the caller (aws:PrincipalAccount, aws:PrincipalOrgID, kms:CallerAccount…). "+
				"Name the account, roles or services.", r.Name), "")
		}
	}
	return nil
}

// checkSecretCMK: Secrets Manager secrets are encrypted with a customer-managed key (CKV_AWS_149).
var checkSecretCMK = presentRule(typeSecret, "kmsKeyId", "secret %q is encrypted with the AWS-managed key. "+
	"Set kmsKeyId to the data store's key (components/internal/secure does).")

// presentRule reports a resource of type typ whose key is known and absent.
func presentRule(typ, key, message string) func(policyx.ResourceValidationArgs) error {
	return func(args policyx.ResourceValidationArgs) error {
		r := args.Resource
		if r.Type != typ {
			return nil
		}
		if ok, known := customerKey(r.Properties, key); known && !ok {
			args.Manager.ReportViolation(fmt.Sprintf(message, r.Name), "")
		}
		return nil
	}
}

// checkLogGroupCMK: CloudWatch log groups are encrypted with a customer-managed key (CKV_AWS_158).
var checkLogGroupCMK = presentRule("aws:cloudwatch/logGroup:LogGroup", "kmsKeyId", "log group %q is encrypted with "+
	"CloudWatch Logs' own key. Create it with components/internal/secure.NewLogGroup (a key of its own that the "+
	"region's CloudWatch Logs may use).")
