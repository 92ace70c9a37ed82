package preview

import (
	"errors"
	"strings"
	"testing"

	"github.com/eduai/infra/internal/mockstack"
)

// The prod plan as the program made it before the test doubles refused
// what AWS refuses (issue #16), recorded by mockstack.WritePlan: the checks
// the preview now runs refuse it for the two defects the review found, the
// Global Datastore secondary's schema conflict and the Pod Identity
// associations created before their cluster, and the other refusals the
// new checks found in it.
func TestVerifyRefusesThePlanBeforeIssue16(t *testing.T) {
	plan, err := mockstack.ReadPlan("testdata/prod-plan-before-issue-16.json.gz")
	if err != nil {
		t.Fatal(err)
	}
	var pe *PlanError
	if err := Verify(plan); !errors.As(err, &pe) {
		t.Fatalf("the old plan passes: %v", err)
	}
	refused := strings.Join(pe.Refused, "\n")
	for _, want := range []string{
		"RedisGlobal$aws:elasticache/replicationGroup:ReplicationGroup::dr-cache-global: atRestEncryptionEnabled conflicts " +
			"with globalReplicationGroupId (provider schema: conflictsWith; the AWS provider refuses this at up)",
		"RestoreTestingSelection::backup-restore-data: only one of protectedResourceArns, protectedResourceConditions may be set",
	} {
		if !strings.Contains(refused, want) {
			t.Errorf("refusals lack %q:\n%s", want, refused)
		}
	}
	associations := 0
	for _, m := range pe.Missing {
		if strings.Contains(m, "aws:eks/podIdentityAssociation:PodIdentityAssociation::") &&
			strings.Contains(m, `$eks:index:Cluster::`) && strings.Contains(m, "clusterName = ") {
			associations++
		}
	}
	// Cluster autoscaler, load balancer controller, Fluent Bit and three services, in both regions.
	if associations != 12 {
		t.Errorf("%d Pod Identity associations reported without their cluster, want 12:\n%s", associations,
			strings.Join(pe.Missing, "\n"))
	}
	namespaces := 0
	for _, m := range pe.Missing {
		if strings.Contains(m, "metadata.namespace = ") {
			namespaces++
		}
	}
	if namespaces < 40 {
		t.Errorf("only %d Kubernetes objects reported without their namespace", namespaces)
	}
	if !strings.Contains(err2s(pe), "missing dependency edge(s)") {
		t.Errorf("error text: %s", err2s(pe))
	}
}

func err2s(e error) string { return e.Error() }
