package main

// The franz-go producer under a producer_byte_rate quota (-quota CLIENT_ID; compat/quota.sh
// sets 1 MB/s on the client id first): 13 MB as fast as it can, beyond the ten windows'
// worth Kafka's quota allows at first. The OnBrokerThrottle hook must see a throttle above
// 0, OnBrokerDisconnect no disconnect of a broker connection, and every record must be
// acknowledged with offsets 0..n-1. Batches are not compressed (the values would shrink to
// nothing).

import (
	"context"
	"fmt"
	"net"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

const quotaRecords = 13_000

type quotaHooks struct {
	maxThrottle atomic.Int64
	disconnects atomic.Int64
}

func (h *quotaHooks) OnBrokerThrottle(_ kgo.BrokerMetadata, interval time.Duration, _ bool) {
	for {
		cur := h.maxThrottle.Load()
		if int64(interval) <= cur || h.maxThrottle.CompareAndSwap(cur, int64(interval)) {
			return
		}
	}
}

func (h *quotaHooks) OnBrokerDisconnect(meta kgo.BrokerMetadata, _ net.Conn) {
	// Seed brokers (negative ids) are the bootstrap connections, dropped once the
	// cluster's brokers are known; only broker connections count.
	if meta.NodeID >= 0 {
		h.disconnects.Add(1)
	}
}

func runQuota(bootstrap, clientID string) {
	ctx := context.Background()
	topic := fmt.Sprintf("skiff-quota-franz-go-%d", time.Now().UnixNano())
	hooks := &quotaHooks{}
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(bootstrap),
		kgo.ClientID(clientID),
		kgo.DisableIdempotentWrite(),
		kgo.ProducerBatchCompression(kgo.NoCompression()),
		kgo.ProducerLinger(5*time.Millisecond),
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.AllowAutoTopicCreation(),
		kgo.WithHooks(hooks),
		logOpt(),
	)
	must(err, "new client")
	defer cl.Close()
	step("producing %d records of 1000 bytes to %s under client id %s", quotaRecords, topic, clientID)
	value := make([]byte, 1000)
	offsets := make([]int64, quotaRecords)
	var failed atomic.Int64
	for i := 0; i < quotaRecords; i++ {
		i := i
		r := &kgo.Record{Topic: topic, Partition: 0, Key: []byte(fmt.Sprint(i)), Value: value}
		cl.Produce(ctx, r, func(r *kgo.Record, err error) {
			if err != nil {
				failed.Add(1)
				return
			}
			offsets[i] = r.Offset
		})
	}
	must(cl.Flush(ctx), "flush")
	check(failed.Load() == 0, "%d records failed", failed.Load())
	for i, o := range offsets {
		check(o == int64(i), "record %d at offset %d", i, o)
	}
	throttle := time.Duration(hooks.maxThrottle.Load())
	check(throttle > 0, "OnBrokerThrottle saw no throttle")
	check(hooks.disconnects.Load() == 0, "%d broker disconnects", hooks.disconnects.Load())
	step("throttle max %s, no disconnect", throttle)
}
