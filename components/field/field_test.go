package field

import (
	"errors"
	"testing"
)

func TestList(t *testing.T) {
	var l List
	if l.Err() != nil {
		t.Fatal("an empty list is an error")
	}
	l.Add(Range, "BackupRetentionDays", 60, "must be 1..35")
	l.Add(Format, "BackupWindow", "3am", "must be a UTC window like %s", "03:00-04:00")
	l.Add(Conflict, "ClusterMode", nil, "needs 2 nodes")
	var inner List
	inner.Add(Range, "DiskSizeGiB", 10, "must be 20..16384")
	l.Append("NodeGroups[gpu]", inner)
	l.Append("Taints", errors.New("plain"))
	want := "BackupRetentionDays: must be 1..35 (got 60)\n" +
		"BackupWindow: must be a UTC window like 03:00-04:00 (got \"3am\")\n" +
		"ClusterMode: needs 2 nodes\n" +
		"NodeGroups[gpu].DiskSizeGiB: must be 20..16384 (got 10)\n" +
		"Taints: plain"
	if got := l.Err().Error(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	var back List
	if !errors.As(errors.Join(l.Err()), &back) || len(back) != 5 || back[3].Kind != Range {
		t.Errorf("errors.As: %v", back)
	}
}
