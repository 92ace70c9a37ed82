package secure

import (
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/ec2"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// EC2Trust lets EC2 instances assume a role (the role of an instance profile or a node group).
const EC2Trust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow",` +
	`"Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`

// Hardened sets what every launch template of the platform carries on args
// and returns it: IMDSv2 only with a hop limit of 1 (pods and job
// containers, a hop further, cannot reach the instance's credentials), an
// encrypted gp3 root volume of rootGiB on /dev/xvda (the root device of
// Amazon Linux 2023 and the EKS AL2023 AMIs), the tags on the instances and
// their volumes, and new versions as the default.
func Hardened(args *ec2.LaunchTemplateArgs, rootGiB int, tags pulumi.StringMap) *ec2.LaunchTemplateArgs {
	args.MetadataOptions = ec2.LaunchTemplateMetadataOptionsArgs{
		HttpEndpoint:            pulumi.String("enabled"),
		HttpTokens:              pulumi.String("required"),
		HttpPutResponseHopLimit: pulumi.Int(1),
	}
	args.BlockDeviceMappings = ec2.LaunchTemplateBlockDeviceMappingArray{ec2.LaunchTemplateBlockDeviceMappingArgs{
		DeviceName: pulumi.String("/dev/xvda"),
		Ebs: ec2.LaunchTemplateBlockDeviceMappingEbsArgs{
			VolumeSize:          pulumi.Int(rootGiB),
			VolumeType:          pulumi.String("gp3"),
			Encrypted:           pulumi.String("true"),
			DeleteOnTermination: pulumi.String("true"),
		},
	}}
	args.TagSpecifications = ec2.LaunchTemplateTagSpecificationArray{
		ec2.LaunchTemplateTagSpecificationArgs{ResourceType: pulumi.String("instance"), Tags: tags},
		ec2.LaunchTemplateTagSpecificationArgs{ResourceType: pulumi.String("volume"), Tags: tags},
	}
	args.UpdateDefaultVersion = pulumi.Bool(true)
	args.Tags = tags
	return args
}
