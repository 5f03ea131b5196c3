// Command smoke is the franz-go scenario of the Skiff compat harness.
//
// Usage: smoke [-idempotent] [-group [-group-protocol classic|consumer]] HOST:PORT   (or BOOTSTRAP=HOST:PORT in the environment)
//
//  1. Five producers (kgo, idempotence off, acks=all), one per compression codec (none, gzip,
//     snappy, lz4, zstd), write to a new auto-created topic, to partitions 0..2 chosen by hand:
//     null/empty keys and values, explicit increasing timestamps, repeated header keys, empty
//     header values. Offsets must be contiguous per partition.
//  2. Assign-style consumption (kgo.ConsumePartitions, no group) from the start reads every
//     record back exactly (offsets, keys, values, headers, timestamps); again from an offset
//     inside a compressed batch.
//  3. kadm ListStartOffsets / ListEndOffsets / ListOffsetsAfterMilli (sampled timestamps,
//     before everything, after everything → the end offset).
//  4. With -idempotent: an idempotent producer (kgo's default; InitProducerId) adds records in
//     two batches, it must hold a producer id, and they are read back exactly.
//  5. With -group: a consumer in a new group (ConsumeTopics, auto commit off) reads
//     everything, commits; kadm ListGroups and DescribeGroups (or DescribeConsumerGroups) show it Stable with one member holding every
//     partition, and Empty after it left; kadm FetchOffsets returns the commits; new records
//     are produced and a second member of the same group receives exactly those.
//     -group-protocol consumer makes the members KIP-848 ones (ConsumerGroupHeartbeat).
//
// Exits non-zero with a message naming the first mismatch.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand"
	"os"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

const (
	name       = "franz-go smoke"
	partitions = 3
)

var timeout = 120 * time.Second

// logOpt sends every client's log lines at COMPAT_KGO_LOG_LEVEL (warn by default; info,
// debug, none) to stderr, so a failure's log shows what the client saw.
func logOpt() kgo.Opt {
	level := kgo.LogLevelWarn
	switch strings.ToLower(os.Getenv("COMPAT_KGO_LOG_LEVEL")) {
	case "info":
		level = kgo.LogLevelInfo
	case "debug":
		level = kgo.LogLevelDebug
	case "none":
		level = kgo.LogLevelNone
	}
	return kgo.WithLogger(kgo.BasicLogger(os.Stderr, level, func() string { return "kgo: " }))
}

type mismatch struct{ msg string }

func (m mismatch) Error() string { return m.msg }

func check(cond bool, format string, args ...any) {
	if !cond {
		panic(mismatch{fmt.Sprintf(format, args...)})
	}
}

func must(err error, format string, args ...any) {
	if err != nil {
		panic(mismatch{fmt.Sprintf(format, args...) + ": " + err.Error()})
	}
}

func step(format string, args ...any) {
	fmt.Fprintf(os.Stderr, name+": "+format+"\n", args...)
}

// rec is one record as produced or as observed (nil slices are nulls).
type rec struct {
	partition int32
	offset    int64
	key       []byte
	value     []byte
	headers   []kgo.RecordHeader
	timestamp int64 // milliseconds
}

func cut(b []byte) string {
	if b == nil {
		return "null"
	}
	s := string(b)
	if len(s) > 24 {
		s = s[:24]
	}
	return fmt.Sprintf("%q(%d B)", s, len(b))
}

func (r rec) brief() string {
	hs := make([]string, 0, len(r.headers))
	for _, h := range r.headers {
		hs = append(hs, h.Key+"="+cut(h.Value))
	}
	return fmt.Sprintf("p%d@%d ts=%d key=%s value=%s headers=[%s]", r.partition, r.offset, r.timestamp, cut(r.key), cut(r.value), strings.Join(hs, " "))
}

// nullEq compares two byte slices, telling null (nil) from empty.
func nullEq(a, b []byte) bool {
	if (a == nil) != (b == nil) {
		return false
	}
	return bytes.Equal(a, b)
}

func headersEq(a, b []kgo.RecordHeader) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		// kgo hands back an empty header value as an empty (non-nil or nil) slice: compare bytes.
		if a[i].Key != b[i].Key || !bytes.Equal(a[i].Value, b[i].Value) {
			return false
		}
	}
	return true
}

func makeRecords(n int, salt string, baseTs int64) []*rec {
	out := make([]*rec, 0, n)
	for i := 0; i < n; i++ {
		r := &rec{partition: int32(i % partitions), offset: -1, timestamp: baseTs + int64(10*i)}
		switch {
		case i%7 == 3:
			r.key = nil
		case i%11 == 5:
			r.key = []byte{}
		default:
			r.key = []byte(fmt.Sprintf("key-%s-%d", salt, i))
		}
		switch {
		case i%9 == 4:
			r.value = nil
		case i%13 == 6:
			r.value = []byte{}
		default:
			r.value = []byte(strings.Repeat(fmt.Sprintf("value %d of %s; ", i, salt), 1+i%30))
		}
		switch i % 3 {
		case 0:
			r.headers = []kgo.RecordHeader{{Key: "dup", Value: []byte("1")}, {Key: "other", Value: []byte("x")}, {Key: "dup", Value: []byte("2")}}
		case 1:
			r.headers = []kgo.RecordHeader{{Key: "empty", Value: []byte{}}, {Key: "bin", Value: []byte{0, 255, byte(i)}}}
		}
		out = append(out, r)
	}
	return out
}

func producer(bootstrap string, extra ...kgo.Opt) *kgo.Client {
	opts := append([]kgo.Opt{
		kgo.SeedBrokers(bootstrap),
		logOpt(),
		kgo.AllowAutoTopicCreation(),
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.ProducerLinger(0),
	}, extra...)
	cl, err := kgo.NewClient(opts...)
	must(err, "new producer client")
	return cl
}

// produce writes recs with cl and records their offsets, checking they continue nextOffset.
func produce(ctx context.Context, cl *kgo.Client, topic, what string, recs []*rec, nextOffset []int64) {
	krs := make([]*kgo.Record, len(recs))
	for i, r := range recs {
		krs[i] = &kgo.Record{Topic: topic, Partition: r.partition, Key: r.key, Value: r.value, Headers: r.headers, Timestamp: time.UnixMilli(r.timestamp)}
	}
	byRecord := make(map[*kgo.Record]*rec, len(recs))
	for i, kr := range krs {
		byRecord[kr] = recs[i]
	}
	// ProduceSync hands results back in completion order: map them to the records.
	for _, pr := range cl.ProduceSync(ctx, krs...) {
		must(pr.Err, "produce (%s) %s", what, byRecord[pr.Record].brief())
		byRecord[pr.Record].offset = pr.Record.Offset
	}
	// Per partition, records are appended in the order given: offsets continue nextOffset.
	for _, r := range recs {
		check(r.offset == nextOffset[r.partition], "produce (%s) p%d: record got offset %d, want %d", what, r.partition, r.offset, nextOffset[r.partition])
		nextOffset[r.partition]++
	}
}

func toRec(r *kgo.Record) *rec {
	return &rec{partition: r.Partition, offset: r.Offset, key: r.Key, value: r.Value, headers: r.Headers, timestamp: r.Timestamp.UnixMilli()}
}

// poll reads from cl until n records arrived; returns them per partition.
func poll(ctx context.Context, cl *kgo.Client, n int, what string) map[int32][]*rec {
	got := map[int32][]*rec{}
	count := 0
	ctx, cancel := context.WithTimeout(ctx, timeout/2)
	defer cancel()
	for count < n {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			panic(mismatch{fmt.Sprintf("%s: timed out with %d of %d records", what, count, n)})
		}
		fs.EachError(func(t string, p int32, err error) {
			must(err, "%s: fetch error on %s[%d]", what, t, p)
		})
		fs.EachRecord(func(r *kgo.Record) {
			got[r.Partition] = append(got[r.Partition], toRec(r))
			count++
		})
	}
	return got
}

func comparePartition(label string, want, got []*rec) {
	for i := 0; i < len(want) && i < len(got); i++ {
		w, g := want[i], got[i]
		var diffs []string
		if w.offset != g.offset {
			diffs = append(diffs, "offset")
		}
		if !nullEq(w.key, g.key) {
			diffs = append(diffs, "key")
		}
		if !nullEq(w.value, g.value) {
			diffs = append(diffs, "value")
		}
		if !headersEq(w.headers, g.headers) {
			diffs = append(diffs, "headers")
		}
		if w.timestamp != g.timestamp {
			diffs = append(diffs, "timestamp")
		}
		check(len(diffs) == 0, "%s: record #%d differs in %s\n  want %s\n  got  %s", label, i, strings.Join(diffs, ", "), w.brief(), g.brief())
	}
	extra := ""
	if len(got) > len(want) {
		extra = "; first extra: " + got[len(want)].brief()
	}
	check(len(want) == len(got), "%s: want %d records, got %d%s", label, len(want), len(got), extra)
}

func byPartition(recs []*rec) map[int32][]*rec {
	m := map[int32][]*rec{}
	for _, r := range recs {
		m[r.partition] = append(m[r.partition], r)
	}
	return m
}

func groupMember(bootstrap, topic, group string, kip848 bool) *kgo.Client {
	opts := []kgo.Opt{
		kgo.SeedBrokers(bootstrap),
		logOpt(),
		kgo.ConsumerGroup(group),
		kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.DisableAutoCommit(),
		kgo.FetchMaxWait(200 * time.Millisecond),
		kgo.SessionTimeout(10 * time.Second),
	}
	if kip848 {
		// KIP-848: the broker assigns (ConsumerGroupHeartbeat) with its range assignor.
		opts = append(opts, kgo.ServerSideBalancer(), kgo.Balancers(kgo.RangeBalancer()))
	}
	cl, err := kgo.NewClient(opts...)
	must(err, "new group consumer")
	return cl
}

// checkGroup waits (up to 15 s) until the admin APIs show the group in state want with
// members members, of the expected type; with one member, that member holds every partition.
func checkGroup(ctx context.Context, adm *kadm.Client, group, topic string, nparts int, kip848 bool, want string, members int) {
	wantType := "classic"
	if kip848 {
		wantType = "consumer"
	}
	deadline := time.Now().Add(15 * time.Second)
	var last string
	for {
		last = func() string {
			lg, err := adm.ListGroups(ctx)
			must(err, "ListGroups")
			g, ok := lg[group]
			if !ok {
				return fmt.Sprintf("ListGroups does not list %s (lists %v)", group, lg.Groups())
			}
			if g.GroupType != "" && g.GroupType != wantType {
				return fmt.Sprintf("ListGroups: %s has type %q, want %q", group, g.GroupType, wantType)
			}
			if g.State != want {
				return fmt.Sprintf("ListGroups: %s in state %q, want %q", group, g.State, want)
			}
			if kip848 {
				dg, err := adm.DescribeConsumerGroups(ctx, group)
				must(err, "DescribeConsumerGroups")
				d := dg[group]
				must(d.Err, "DescribeConsumerGroups %s", group)
				if d.State != want || len(d.Members) != members {
					return fmt.Sprintf("DescribeConsumerGroups: state %q with %d members, want %q with %d", d.State, len(d.Members), want, members)
				}
				if members == 1 && len(d.AssignedPartitions()[topic]) != nparts {
					return fmt.Sprintf("DescribeConsumerGroups: %d partitions of %s assigned, want %d", len(d.AssignedPartitions()[topic]), topic, nparts)
				}
				return ""
			}
			dg, err := adm.DescribeGroups(ctx, group)
			must(err, "DescribeGroups")
			d := dg[group]
			must(d.Err, "DescribeGroups %s", group)
			if d.State != want || len(d.Members) != members {
				return fmt.Sprintf("DescribeGroups: state %q with %d members, want %q with %d", d.State, len(d.Members), want, members)
			}
			if members > 0 && d.ProtocolType != "consumer" {
				return fmt.Sprintf("DescribeGroups: protocol type %q, want \"consumer\"", d.ProtocolType)
			}
			if members == 1 {
				ca, ok := d.Members[0].Assigned.AsConsumer()
				if !ok {
					return "DescribeGroups: the member's assignment is not a consumer assignment"
				}
				n := 0
				for _, t := range ca.Topics {
					if t.Topic == topic {
						n += len(t.Partitions)
					}
				}
				if n != nparts {
					return fmt.Sprintf("DescribeGroups: %d partitions of %s assigned, want %d", n, topic, nparts)
				}
			}
			return ""
		}()
		if last == "" {
			return
		}
		check(time.Now().Before(deadline), "group %s: %s", group, last)
		time.Sleep(200 * time.Millisecond)
	}
}

func run(bootstrap string, idempotent, withGroup, kip848 bool) {
	ctx := context.Background()
	salt := fmt.Sprintf("%d-%08x", time.Now().Unix(), rand.Uint32())
	topic := "compat-franz-go-" + salt

	codecs := []struct {
		name  string
		codec kgo.CompressionCodec
	}{
		{"none", kgo.NoCompression()},
		{"gzip", kgo.GzipCompression()},
		{"snappy", kgo.SnappyCompression()},
		{"lz4", kgo.Lz4Compression()},
		{"zstd", kgo.ZstdCompression()},
	}
	baseTs := time.Now().Add(-10 * time.Minute).UnixMilli()
	nextOffset := make([]int64, partitions)
	var all []*rec
	step("produce 5 clients (none/gzip/snappy/lz4/zstd) to %s", topic)
	for ci, c := range codecs {
		cl := producer(bootstrap, kgo.DisableIdempotentWrite(), kgo.RequiredAcks(kgo.AllISRAcks()), kgo.ProducerBatchCompression(c.codec))
		recs := makeRecords(30, c.name, baseTs+int64(ci)*1000)
		produce(ctx, cl, topic, c.name, recs, nextOffset)
		cl.Close()
		all = append(all, recs...)
	}
	want := byPartition(all)

	step("assign-style consume (ConsumePartitions) from the start")
	starts := map[int32]kgo.Offset{}
	for p := int32(0); p < partitions; p++ {
		starts[p] = kgo.NewOffset().AtStart()
	}
	cons, err := kgo.NewClient(kgo.SeedBrokers(bootstrap), logOpt(), kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: starts}), kgo.FetchMaxWait(200*time.Millisecond))
	must(err, "new consumer")
	got := poll(ctx, cons, len(all), "assign consumer")
	cons.Close()
	for p := int32(0); p < partitions; p++ {
		comparePartition(fmt.Sprintf("assign p%d", p), want[p], got[p])
	}

	step("assign-style consume of partition 0 from offset 35 (inside the lz4 batch)")
	cons, err = kgo.NewClient(kgo.SeedBrokers(bootstrap), logOpt(), kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {0: kgo.NewOffset().At(35)}}), kgo.FetchMaxWait(200*time.Millisecond))
	must(err, "new consumer")
	got = poll(ctx, cons, len(want[0])-35, "consumer from offset 35")
	cons.Close()
	comparePartition("p0 from 35", want[0][35:], got[0])

	step("kadm list offsets")
	admCl, err := kgo.NewClient(kgo.SeedBrokers(bootstrap), logOpt())
	must(err, "new admin client")
	defer admCl.Close()
	adm := kadm.NewClient(admCl)
	startOffs, err := adm.ListStartOffsets(ctx, topic)
	must(err, "ListStartOffsets")
	endOffs, err := adm.ListEndOffsets(ctx, topic)
	must(err, "ListEndOffsets")
	nparts := 0
	endOffs.Each(func(o kadm.ListedOffset) {
		nparts++
		must(o.Err, "ListEndOffsets p%d", o.Partition)
		wantEnd := int64(0)
		if o.Partition < partitions {
			wantEnd = nextOffset[o.Partition]
		}
		check(o.Offset == wantEnd, "ListEndOffsets p%d = %d, want %d", o.Partition, o.Offset, wantEnd)
	})
	check(nparts >= partitions, "ListEndOffsets listed %d partitions, want >= %d", nparts, partitions)
	startOffs.Each(func(o kadm.ListedOffset) {
		must(o.Err, "ListStartOffsets p%d", o.Partition)
		check(o.Offset == 0, "ListStartOffsets p%d = %d, want 0", o.Partition, o.Offset)
	})
	firstAtOrAfter := func(p int32, ts int64) (int64, int64) {
		if p >= partitions {
			return 0, -1
		}
		for _, r := range want[p] {
			if r.timestamp >= ts {
				return r.offset, r.timestamp
			}
		}
		return nextOffset[p], -1
	}
	maxTs := all[len(all)-1].timestamp
	probes := []int64{baseTs - 5000, maxTs, maxTs + 1}
	for i, r := range all {
		if i%7 == 0 {
			probes = append(probes, r.timestamp, r.timestamp+1)
		}
	}
	for _, ts := range probes {
		offs, err := adm.ListOffsetsAfterMilli(ctx, ts, topic)
		must(err, "ListOffsetsAfterMilli(%d)", ts)
		offs.Each(func(o kadm.ListedOffset) {
			must(o.Err, "ListOffsetsAfterMilli(%d) p%d", ts, o.Partition)
			wantOff, wantTs := firstAtOrAfter(o.Partition, ts)
			check(o.Offset == wantOff, "ListOffsetsAfterMilli(%d) p%d = offset %d, want %d", ts, o.Partition, o.Offset, wantOff)
			if wantTs >= 0 {
				check(o.Timestamp == wantTs, "ListOffsetsAfterMilli(%d) p%d: timestamp %d, want %d", ts, o.Partition, o.Timestamp, wantTs)
			}
		})
	}

	if idempotent {
		step("idempotent producer (InitProducerId) adds records")
		idem := producer(bootstrap)
		more := makeRecords(2*partitions, "idempotent", time.Now().UnixMilli())
		produce(ctx, idem, topic, "idempotent", more, nextOffset)
		// kgo silently drops idempotence when the broker lacks InitProducerId: insist on an id.
		pid, epoch, err := idem.ProducerID(ctx)
		must(err, "ProducerID")
		check(pid >= 0 && epoch >= 0, "idempotent producer has no producer id (id %d, epoch %d): InitProducerId not served", pid, epoch)
		step("idempotent producer: id %d, epoch %d; a second batch continues its sequence", pid, epoch)
		again := makeRecords(partitions, "idempotent-2", time.Now().UnixMilli())
		produce(ctx, idem, topic, "idempotent, second batch", again, nextOffset)
		idem.Close()
		more = append(more, again...)
		all = append(all, more...)
		want = byPartition(all)
		step("assign-style consume of the idempotent records")
		starts := map[int32]kgo.Offset{}
		for p := int32(0); p < partitions; p++ {
			starts[p] = kgo.NewOffset().At(byPartition(more)[p][0].offset)
		}
		cons, err := kgo.NewClient(kgo.SeedBrokers(bootstrap), logOpt(), kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: starts}), kgo.FetchMaxWait(200*time.Millisecond))
		must(err, "new consumer")
		got := poll(ctx, cons, len(more), "consumer of the idempotent records")
		cons.Close()
		mw := byPartition(more)
		for p := int32(0); p < partitions; p++ {
			comparePartition(fmt.Sprintf("idempotent p%d", p), mw[p], got[p])
		}
	}
	if !withGroup {
		return
	}
	gp := producer(bootstrap, kgo.DisableIdempotentWrite(), kgo.RequiredAcks(kgo.AllISRAcks()))
	defer gp.Close()

	group := "compat-franz-go-group-" + salt
	step("group %s: subscribe, consume all %d, commit", group, len(all))
	m1 := groupMember(bootstrap, topic, group, kip848)
	got = poll(ctx, m1, len(all), "first member")
	for p := int32(0); p < partitions; p++ {
		comparePartition(fmt.Sprintf("group p%d", p), want[p], got[p])
	}
	must(m1.CommitUncommittedOffsets(ctx), "CommitUncommittedOffsets")
	step("list and describe the group: Stable, one member holding all %d partitions", nparts)
	checkGroup(ctx, adm, group, topic, nparts, kip848, "Stable", 1)
	m1.Close()
	step("after the member left: Empty")
	checkGroup(ctx, adm, group, topic, nparts, kip848, "Empty", 0)
	committed, err := adm.FetchOffsets(ctx, group)
	must(err, "FetchOffsets")
	must(committed.Error(), "FetchOffsets partition errors")
	for p := int32(0); p < partitions; p++ {
		o, ok := committed.Lookup(topic, p)
		check(ok, "FetchOffsets: no commit for p%d", p)
		check(o.At == nextOffset[p], "FetchOffsets p%d = %d, want %d", p, o.At, nextOffset[p])
	}

	step("second member resumes from the committed offsets")
	fresh := makeRecords(2*partitions, "fresh", time.Now().UnixMilli())
	produce(ctx, gp, topic, "fresh", fresh, nextOffset)
	m2 := groupMember(bootstrap, topic, group, kip848)
	defer m2.Close()
	got = poll(ctx, m2, len(fresh), "second member")
	fw := byPartition(fresh)
	for p := int32(0); p < partitions; p++ {
		comparePartition(fmt.Sprintf("resume p%d", p), fw[p], got[p])
	}
}

func main() {
	withGroup := flag.Bool("group", false, "also run the consumer-group part (needs the group APIs)")
	idempotent := flag.Bool("idempotent", false, "also produce with an idempotent producer (InitProducerId) and read it back")
	protocol := flag.String("group-protocol", "classic", "the group members' protocol with -group: classic (JoinGroup/SyncGroup) or consumer (KIP-848)")
	quotaClient := flag.String("quota", "", "instead of the smoke scenario, produce 13 MB under this client id (which has a 1 MB/s producer_byte_rate quota) and expect throttling")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: smoke [-group] HOST:PORT (or set BOOTSTRAP)")
		flag.PrintDefaults()
	}
	flag.Parse()
	bootstrap := flag.Arg(0)
	if bootstrap == "" {
		bootstrap = os.Getenv("BOOTSTRAP")
	}
	if bootstrap == "" {
		flag.Usage()
		os.Exit(2)
	}
	if *protocol != "classic" && *protocol != "consumer" {
		flag.Usage()
		os.Exit(2)
	}
	if *withGroup {
		step("mode: with a consumer group, %s protocol", *protocol)
	}
	started := time.Now()
	done := make(chan struct{})
	go func() {
		select {
		case <-done:
		case <-time.After(timeout):
			fmt.Fprintf(os.Stderr, "%s FAILED: no result after %s\n", name, timeout)
			os.Exit(1)
		}
	}()
	defer func() {
		if p := recover(); p != nil {
			var m mismatch
			if err, ok := p.(error); ok && errors.As(err, &m) {
				fmt.Fprintf(os.Stderr, "%s FAILED: %s\n", name, m.msg)
				os.Exit(1)
			}
			panic(p)
		}
	}()
	if *quotaClient != "" {
		runQuota(bootstrap, *quotaClient)
	} else {
		run(bootstrap, *idempotent, *withGroup, *protocol == "consumer")
	}
	close(done)
	fmt.Fprintf(os.Stderr, "%s: OK in %.1f s\n", name, time.Since(started).Seconds())
}
