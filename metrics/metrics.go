// Package metrics exports Bayan's counters in the Prometheus format.
package metrics

import (
	"net/http"

	"github.com/livekit/protocol/livekit"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/bayan-dev/bayan/internal/connlimit"
	"github.com/bayan-dev/bayan/room"
	"github.com/bayan-dev/bayan/sfu"
	"github.com/bayan-dev/bayan/signaling"
)

// Sources are what the exporter reads when scraped.
type Sources struct {
	Rooms     *room.Manager
	Media     *sfu.Stats
	Signaling *signaling.Counters
	// Conns is the HTTP listener's per-address bound.
	Conns *connlimit.Listener
}

// Handler returns an http.Handler serving /metrics from its own registry.
func Handler(src Sources) http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(&collector{src: src})
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}

type counter struct {
	desc *prometheus.Desc
	read func(Sources) uint64
}

func newCounter(name, help string, read func(Sources) uint64) counter {
	return counter{desc: prometheus.NewDesc("bayan_"+name, help, nil, nil), read: read}
}

var (
	roomsDesc        = prometheus.NewDesc("bayan_rooms", "Rooms open on this node.", nil, nil)
	participantsDesc = prometheus.NewDesc("bayan_participants", "Participants connected to this node.", nil, nil)
	publishedDesc    = prometheus.NewDesc("bayan_published_tracks", "Tracks published on this node.", []string{"kind"}, nil)
	subscribedDesc   = prometheus.NewDesc("bayan_subscribed_tracks", "Down-tracks forwarded by this node.", nil, nil)
	delayDesc        = prometheus.NewDesc("bayan_forward_delay_seconds", "Time from a packet's arrival to its last down-track write.", nil, nil)
	sigSentDesc      = prometheus.NewDesc("bayan_signal_messages_sent_total", "Signaling responses written to clients, by type (the SignalResponse field).", []string{"type"}, nil)
	joiningDesc      = prometheus.NewDesc("bayan_signal_joins_in_progress", "Joins admitted whose media is not connected yet.", nil, nil)
	joinWaitingDesc  = prometheus.NewDesc("bayan_signal_joins_waiting", "Joins waiting for their turn.", nil, nil)
	joinWaitDesc     = prometheus.NewDesc("bayan_signal_join_wait_seconds_total", "Time admitted joins spent waiting for their turn, summed.", nil, nil)
	sigReceivedDesc  = prometheus.NewDesc("bayan_signal_messages_received_total", "Signaling requests received from clients, by type (the SignalRequest field).", []string{"type"}, nil)
)

func counters() []counter {
	return []counter{
		newCounter("packets_in_total", "RTP packets received from publishers.", func(s Sources) uint64 { return s.Media.PacketsIn.Load() }),
		newCounter("bytes_in_total", "RTP bytes received from publishers.", func(s Sources) uint64 { return s.Media.BytesIn.Load() }),
		newCounter("packets_out_total", "RTP packets sent to subscribers.", func(s Sources) uint64 { return s.Media.PacketsOut.Load() }),
		newCounter("bytes_out_total", "RTP bytes sent to subscribers.", func(s Sources) uint64 { return s.Media.BytesOut.Load() }),
		newCounter("nacks_received_total", "Packets NACKed by subscribers.", func(s Sources) uint64 { return s.Media.NACKsIn.Load() }),
		newCounter("retransmits_total", "Packets resent from the cache.", func(s Sources) uint64 { return s.Media.Retransmits.Load() }),
		newCounter("plis_received_total", "PLI/FIR received from subscribers.", func(s Sources) uint64 { return s.Media.PLIsIn.Load() }),
		newCounter("plis_sent_total", "PLIs sent to publishers.", func(s Sources) uint64 { return s.Media.PLIsOut.Load() }),
		newCounter("forward_dropped_total", "Packets a down-track failed to write.", func(s Sources) uint64 { return s.Media.ForwardDropped.Load() }),
		newCounter("audio_preroll_packets_total", "Withheld audio packets sent when top-K selection let a track through.", func(s Sources) uint64 { return s.Media.PrerollPackets.Load() }),
		newCounter("signal_bad_frames_total", "Undecodable signaling frames dropped.", func(s Sources) uint64 { return s.Signaling.BadFrames() }),
		newCounter("signal_joins_total", "Successful joins.", func(s Sources) uint64 { return s.Signaling.Joins() }),
		newCounter("signal_resumes_total", "Resumed signaling sessions.", func(s Sources) uint64 { return s.Signaling.Resumes() }),
		newCounter("signal_auth_failures_total", "Requests refused for their token.", func(s Sources) uint64 { return s.Signaling.AuthFailures() }),
		newCounter("signal_joins_refused_busy_total", "Joins refused because their turn did not come in time.", func(s Sources) uint64 { return s.Signaling.JoinsRefusedBusy() }),
		newCounter("http_connections_refused_total", "HTTP connections closed on arrival: their address had http.max_conns_per_ip open.", func(s Sources) uint64 { return s.Conns.Refused() }),
		newCounter("signal_bytes_sent_total", "Bytes of signaling responses written to clients.", func(s Sources) uint64 { return s.Signaling.BytesSent() }),
	}
}

type collector struct{ src Sources }

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, k := range counters() {
		ch <- k.desc
	}
	ch <- roomsDesc
	ch <- participantsDesc
	ch <- publishedDesc
	ch <- subscribedDesc
	ch <- delayDesc
	ch <- sigSentDesc
	ch <- sigReceivedDesc
	ch <- joiningDesc
	ch <- joinWaitingDesc
	ch <- joinWaitDesc
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	for _, k := range counters() {
		ch <- prometheus.MustNewConstMetric(k.desc, prometheus.CounterValue, float64(k.read(c.src)))
	}
	for typ, n := range c.src.Signaling.MessagesSent() {
		ch <- prometheus.MustNewConstMetric(sigSentDesc, prometheus.CounterValue, float64(n), typ)
	}
	for typ, n := range c.src.Signaling.MessagesReceived() {
		ch <- prometheus.MustNewConstMetric(sigReceivedDesc, prometheus.CounterValue, float64(n), typ)
	}
	ch <- prometheus.MustNewConstMetric(joiningDesc, prometheus.GaugeValue, float64(c.src.Signaling.JoinsInProgress()))
	ch <- prometheus.MustNewConstMetric(joinWaitingDesc, prometheus.GaugeValue, float64(c.src.Signaling.JoinsWaiting()))
	ch <- prometheus.MustNewConstMetric(joinWaitDesc, prometheus.CounterValue, c.src.Signaling.JoinWaitSeconds())
	rooms := c.src.Rooms.Rooms()
	var participants, audio, video, subscribed int
	for _, r := range rooms {
		for _, p := range r.Participants() {
			participants++
			subscribed += p.SubscriptionCount()
			for _, t := range p.PublishedTracks() {
				if t.Info().Type == livekit.TrackType_VIDEO {
					video++
				} else {
					audio++
				}
			}
		}
	}
	ch <- prometheus.MustNewConstMetric(roomsDesc, prometheus.GaugeValue, float64(len(rooms)))
	ch <- prometheus.MustNewConstMetric(participantsDesc, prometheus.GaugeValue, float64(participants))
	ch <- prometheus.MustNewConstMetric(publishedDesc, prometheus.GaugeValue, float64(audio), "audio")
	ch <- prometheus.MustNewConstMetric(publishedDesc, prometheus.GaugeValue, float64(video), "video")
	ch <- prometheus.MustNewConstMetric(subscribedDesc, prometheus.GaugeValue, float64(subscribed))
	cum, count, sum := c.src.Media.DelayHistogram()
	buckets := make(map[float64]uint64, len(cum))
	for i, b := range sfu.DelayBuckets {
		buckets[b] = cum[i]
	}
	ch <- prometheus.MustNewConstHistogram(delayDesc, count, sum, buckets)
}
