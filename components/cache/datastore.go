package cache

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// globalFamilies are the node families ElastiCache Global Datastore runs on
// (ElastiCache user guide, "Global Datastore prerequisites and limitations":
// M5, M6g, M7g, R5, R6g, R6gd, R7g and newer general-purpose and memory
// families; never the burstable T family).
var globalFamilies = map[string]bool{"m5": true, "m6g": true, "m7g": true, "r5": true, "r6g": true, "r6gd": true, "r7g": true}

// GlobalDatastoreError tells why a node type and engine version cannot form a
// Global Datastore (nil when they can).
func GlobalDatastoreError(nodeType, engineVersion string) error {
	var errs []error
	parts := strings.Split(nodeType, ".")
	if len(parts) != 3 || parts[0] != "cache" || !globalFamilies[parts[1]] {
		errs = append(errs, fmt.Errorf("node type %q cannot join a Global Datastore (it needs an M5, M6g, M7g, R5, R6g, "+
			"R6gd or R7g node type; burstable T nodes are not supported)", nodeType))
	}
	major, minor, _ := strings.Cut(engineVersion, ".")
	maj, err1 := strconv.Atoi(major)
	mi, _ := strconv.Atoi(strings.Split(minor, ".")[0])
	if err1 != nil || maj < 5 || (maj == 5 && mi == 0 && !strings.HasPrefix(engineVersion, "5.0.6")) {
		errs = append(errs, fmt.Errorf("engine version %q cannot join a Global Datastore (Redis 5.0.6 or later)", engineVersion))
	}
	return errors.Join(errs...)
}
