package sfu

import "github.com/bayan-dev/bayan/sfu/packetcache"

// MaxPacketSize is the largest RTP packet Bayan stores or forwards: the
// packet cache's slot size, which every buffer of the packet path matches.
const MaxPacketSize = packetcache.MaxPacketSize
