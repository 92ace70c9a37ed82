// Package replication is what a data store's secondary role shares with the
// other stores that replicate across regions (Aurora Global Database,
// ElastiCache Global Datastore): the secondary region's provider, where its
// lag alarms go, which region is active, and the lag alarms themselves, in
// both directions (issue #21: one component per store, a role for the
// region; the alarms were written once per store before).
package replication

import (
	"errors"
	"fmt"

	"github.com/eduai/infra/components/enum"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Role is a store's place in its cross-region replication.
type Role string

const (
	// Standalone: no replication (no DR region).
	Standalone Role = "standalone"
	// Primary: the writer's region; its secondary's global resource adopts it.
	Primary Role = "primary"
	// Secondary: the DR region's member, replicating from its Primary.
	Secondary Role = "secondary"
)

// Roles are the roles a store can have.
var Roles = []Role{Standalone, Primary, Secondary}

// Or is the role, Standalone when unset.
func (r Role) Or() Role {
	if r == "" {
		return Standalone
	}
	return r
}

// Replica is what a secondary needs: the primary it replicates (a store's
// component, of type P) and its link.
type Replica[P any] struct {
	// Primary is the primary region's store (Role Primary). Required.
	Primary P
	Link
}

// CheckRole tells what is wrong with a role and whether a replica was given
// (a secondary needs one, the others none); nil when they fit.
func CheckRole(role Role, hasReplica bool) error {
	switch {
	case !enum.Valid(role.Or(), Roles):
		return fmt.Errorf("Role: %q is not one of %s", role, enum.Describe(Roles))
	case role.Or() == Secondary && !hasReplica:
		return errors.New("Replica: a secondary needs the Primary it replicates and its Link")
	case role.Or() != Secondary && hasReplica:
		return fmt.Errorf("Replica: only a secondary replicates (Role %q)", role.Or())
	}
	return nil
}

// Same is an argument a secondary shares with its primary: Mine and
// Primary must be equal.
type Same struct {
	Field         string
	Mine, Primary any
}

// CheckSecondary checks what a secondary's link and primary must be: the
// link complete, the primary built in the primary role (why: the reason,
// appended to the message), and the shared arguments equal (why: the
// reason they must be).
func CheckSecondary(link *Link, primaryName string, primaryRole Role, roleWhy, sameWhy string, same ...Same) error {
	errs := []error{link.Validate()}
	if primaryRole.Or() != Primary {
		errs = append(errs, fmt.Errorf("Replica.Primary: %q has Role %q; build it with Role primary%s",
			primaryName, primaryRole.Or(), roleWhy))
	}
	for _, f := range same {
		if f.Mine != f.Primary {
			errs = append(errs, fmt.Errorf("%s: %v differs from the primary's %v%s", f.Field, f.Mine, f.Primary, sameWhy))
		}
	}
	return errors.Join(errs...)
}

// DefaultLagSeconds is the lag that raises an alarm: the seed's threshold
// for cross-region replication.
const DefaultLagSeconds = 30

// SecondaryPrefix starts the logical names of a secondary's resources in
// its region (the names the former Global components gave them, kept so
// the resources keep their URNs).
const SecondaryPrefix = "dr-"

// Link is a secondary's side of the replication.
type Link struct {
	// Provider of the secondary's region. Required.
	Provider pulumi.ProviderResource
	// AlarmTopic is the SNS topic in the secondary's region; HomeAlarmTopic
	// the one in the primary's, for the lag the primary reports once it is
	// the replica (after a failover). Both required.
	AlarmTopic, HomeAlarmTopic pulumi.StringInput
	// LagAlarmSeconds raises an alarm when replication lags longer. Default DefaultLagSeconds.
	LagAlarmSeconds int
	// SecondaryActive: the secondary is the writer (dr.activeRegion
	// secondary), so the primary is the replica whose lag must be reported.
	SecondaryActive bool
}

// Validate names the missing parts of a link (nil link: all of them).
func (l *Link) Validate() error {
	if l == nil || l.Provider == nil || l.AlarmTopic == nil || l.HomeAlarmTopic == nil {
		return errors.New("a secondary needs its region's Provider, AlarmTopic and HomeAlarmTopic")
	}
	if l.LagAlarmSeconds < 0 {
		return fmt.Errorf("LagAlarmSeconds: at least 0, 0 for the default %d (got %d)", DefaultLagSeconds, l.LagAlarmSeconds)
	}
	return nil
}

// Seconds is the alarm threshold in seconds.
func (l *Link) Seconds() int {
	if l.LagAlarmSeconds == 0 {
		return DefaultLagSeconds
	}
	return l.LagAlarmSeconds
}

// Metric is how a store reports replication lag.
type Metric struct {
	// What replicates, for the alarm's description ("Aurora global replication").
	What string
	// Namespace, Name and Dimension of the CloudWatch metric; the dimension's
	// value names the member that reports it (the replica).
	Namespace, Name, Dimension string
	// PerSecond is the metric's units in a second (1000 for milliseconds).
	PerSecond float64
}

// Member is one side of the replication, as its lag alarm sees it.
type Member struct {
	// Alarm is the alarm's logical name.
	Alarm string
	// ID is the member's identifier (the metric dimension's value).
	ID pulumi.StringInput
	// Topic the alarm notifies (in the member's region).
	Topic pulumi.StringInput
	// Opts place the alarm (parent, the member region's provider).
	Opts []pulumi.ResourceOption
}

// NewLagAlarms raises the lag alarms of both members. The store reports lag
// from whichever member is the replica: the secondary until a failover, the
// primary after one. The expected replica's alarm treats a minute without the
// metric as breaching (no metric means no replication, the worst lag there
// is); the writer's does not (a writer reports none).
func NewLagAlarms(ctx *pulumi.Context, m Metric, link *Link, source string, secondary, primary Member) error {
	for _, w := range []struct {
		Member
		replica bool
	}{{secondary, !link.SecondaryActive}, {primary, link.SecondaryActive}} {
		missing := "notBreaching"
		if w.replica {
			missing = "breaching"
		}
		if _, err := cloudwatch.NewMetricAlarm(ctx, w.Alarm, &cloudwatch.MetricAlarmArgs{
			AlarmDescription: pulumi.Sprintf("%s of %s into %s lags more than %d s, or is not reported (the seed's threshold)",
				m.What, source, w.ID, link.Seconds()),
			Namespace:          pulumi.String(m.Namespace),
			MetricName:         pulumi.String(m.Name),
			Dimensions:         pulumi.StringMap{m.Dimension: w.ID},
			Statistic:          pulumi.String("Maximum"),
			Period:             pulumi.Int(60),
			EvaluationPeriods:  pulumi.Int(3),
			Threshold:          pulumi.Float64(float64(link.Seconds()) * m.PerSecond),
			ComparisonOperator: pulumi.String("GreaterThanThreshold"),
			TreatMissingData:   pulumi.String(missing),
			AlarmActions:       pulumi.Array{w.Topic},
			OkActions:          pulumi.Array{w.Topic},
		}, w.Opts...); err != nil {
			return err
		}
	}
	return nil
}
