package rules

import (
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/property"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/policyx"
)

const typeKMSKey = "aws:kms/key:Key"

// checkKMSRotation: a customer-managed symmetric key rotates its material (CKV_AWS_7).
func checkKMSRotation(args policyx.ResourceValidationArgs) error {
	r := args.Resource
	if r.Type != typeKMSKey {
		return nil
	}
	if spec, _, _ := str(r.Properties, "customerMasterKeySpec"); spec != "" && spec != "SYMMETRIC_DEFAULT" {
		return nil // AWS rotates only symmetric keys
	}
	on, _, known := scalar(r.Properties, "enableKeyRotation", property.Value.IsBool, property.Value.AsBool)
	if known && !on {
		args.Manager.ReportViolation(fmt.Sprintf("KMS key %q does not rotate its key material. Set enableKeyRotation: "+
			"true (every component of this program does).", r.Name), "")
	}
	return nil
}

// DefaultSecurityGroupFindings returns a finding for each VPC whose default
// security group is not taken over with no rules (CKV2_AWS_12): anything
// placed in it by mistake could then talk to everything else in it.
func DefaultSecurityGroupFindings(rs []policyx.AnalyzerResource) []Finding {
	var out []Finding
	groups := ofType(rs, typeDefaultSG)
	for _, g := range groups {
		for _, key := range []string{"ingress", "egress"} {
			rules, known := objList(g.Properties, key)
			if known && len(rules) > 0 {
				out = append(out, Finding{URN: g.URN, Message: fmt.Sprintf("default security group %q has %s rules. "+
					"Leave it with none: give workloads their own security groups.", g.Name, key)})
			}
		}
	}
	for _, vpc := range ofType(rs, typeVpc) {
		managed := false
		for _, g := range groups {
			if refersTo(g, "vpcId", vpc) {
				managed = true
			}
		}
		if !managed {
			out = append(out, Finding{URN: vpc.URN, Message: fmt.Sprintf("VPC %q leaves its default security group "+
				"as AWS creates it (all traffic between members allowed). Take it over with an "+
				"aws.ec2.DefaultSecurityGroup without rules, as the network component does.", vpc.Name)})
		}
	}
	return out
}
