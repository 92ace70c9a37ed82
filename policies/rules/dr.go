package rules

import (
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/policyx"
)

const (
	typeGlobalCluster    = "aws:rds/globalCluster:GlobalCluster"
	typeBucketV2         = "aws:s3/bucketV2:BucketV2"
	typeBucketLogging    = "aws:s3/bucketLoggingV2:BucketLoggingV2"
	typeBucketReplConfig = "aws:s3/bucketReplicationConfig:BucketReplicationConfig"
)

// regionOf is the region of a resource's provider ("" when not known).
func regionOf(r policyx.AnalyzerResource) string {
	region, _, _ := str(r.Provider.Properties, "region")
	return region
}

// GlobalDatabaseFindings: every Aurora cluster that is not itself a
// secondary belongs to a global cluster that has a member in another region.
func GlobalDatabaseFindings(rs []policyx.AnalyzerResource) []Finding {
	clusters, globals := ofType(rs, typeRDSCluster), ofType(rs, typeGlobalCluster)
	globalOf := func(c policyx.AnalyzerResource) (policyx.AnalyzerResource, bool, bool) {
		for _, g := range globals {
			if refersTo(g, "sourceDbClusterIdentifier", c) {
				return g, true, true
			}
			if refersTo(c, "globalClusterIdentifier", g) {
				return g, false, true
			}
		}
		return policyx.AnalyzerResource{}, false, false
	}
	var out []Finding
	for _, c := range clusters {
		g, source, ok := globalOf(c)
		if !ok {
			out = append(out, Finding{URN: c.URN, Message: fmt.Sprintf("Aurora cluster %q is in no global cluster: "+
				"a region outage loses the database. Turn on eduai:dr (Aurora Global Database with a secondary in the DR region).",
				c.Name)})
			continue
		}
		if !source {
			continue // a member that is not the adopted primary: a secondary
		}
		region, remote := regionOf(c), false
		for _, m := range clusters {
			if m.URN != c.URN && refersTo(m, "globalClusterIdentifier", g) {
				if other := regionOf(m); other == "" || region == "" || other != region {
					remote = true
				}
			}
		}
		if !remote {
			out = append(out, Finding{URN: c.URN, Message: fmt.Sprintf("the global cluster of Aurora %q has no "+
				"secondary in another region. Give it a secondary in eduai:dr.region.", c.Name)})
		}
	}
	return out
}

// BucketReplicationFindings: every bucket but access-log buckets is the
// source or the destination of a replication to another region.
func BucketReplicationFindings(rs []policyx.AnalyzerResource) []Finding {
	logging, repl := ofType(rs, typeBucketLogging), ofType(rs, typeBucketReplConfig)
	var out []Finding
	for _, b := range ofType(rs, typeBucketV2) {
		isLogTarget := false
		for _, l := range logging {
			if refersTo(l, "targetBucket", b) {
				isLogTarget = true
			}
		}
		if isLogTarget {
			continue
		}
		covered := false
		for _, r := range repl {
			if refersTo(r, "bucket", b) || refersTo(r, "rules", b) {
				covered = true
			}
		}
		if !covered {
			out = append(out, Finding{URN: b.URN, Message: fmt.Sprintf("bucket %q does not replicate to another "+
				"region: a region outage loses its objects. Turn on eduai:dr (cross-region replication of the application buckets).",
				b.Name)})
		}
	}
	return out
}
