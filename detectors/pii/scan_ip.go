package pii

import (
	"net/netip"
	"strings"
)

// Ranges that never identify anyone: documentation (RFC 5737, RFC 3849),
// benchmarking, shared CGNAT space and the IPv4 "this network" block.
var (
	docPrefixes = []netip.Prefix{
		netip.MustParsePrefix("192.0.2.0/24"),
		netip.MustParsePrefix("198.51.100.0/24"),
		netip.MustParsePrefix("203.0.113.0/24"),
		netip.MustParsePrefix("198.18.0.0/15"),
		netip.MustParsePrefix("0.0.0.0/8"),
		netip.MustParsePrefix("240.0.0.0/4"),
		netip.MustParsePrefix("2001:db8::/32"),
		netip.MustParsePrefix("3fff::/20"),
	}
	cgnat       = netip.MustParsePrefix("100.64.0.0/10")
	globalV6    = netip.MustParsePrefix("2000::/3")
	wellKnownIP = map[netip.Addr]bool{ // public resolvers: services, not people
		netip.MustParseAddr("8.8.8.8"): true, netip.MustParseAddr("8.8.4.4"): true,
		netip.MustParseAddr("1.1.1.1"): true, netip.MustParseAddr("1.0.0.1"): true,
		netip.MustParseAddr("9.9.9.9"): true, netip.MustParseAddr("149.112.112.112"): true,
		netip.MustParseAddr("208.67.222.222"): true, netip.MustParseAddr("208.67.220.220"): true,
		netip.MustParseAddr("2001:4860:4860::8888"): true, netip.MustParseAddr("2001:4860:4860::8844"): true,
		netip.MustParseAddr("2606:4700:4700::1111"): true, netip.MustParseAddr("2606:4700:4700::1001"): true,
	}
)

// ipScore returns the score for an address, 0 when it is not reported:
// public addresses identify a subscriber; private, link-local and CGNAT
// ones only when the policy asks (private_ips); loopback, multicast,
// unspecified and documentation ranges never.
func (d *Detector) ipScore(a netip.Addr) float64 {
	a = a.Unmap()
	if a.IsLoopback() || a.IsMulticast() || a.IsUnspecified() || wellKnownIP[a] {
		return 0
	}
	for _, p := range docPrefixes {
		if p.Contains(a) {
			return 0
		}
	}
	if a.Is4() && a == netip.AddrFrom4([4]byte{255, 255, 255, 255}) {
		return 0
	}
	if a.IsPrivate() || a.IsLinkLocalUnicast() || cgnat.Contains(a) {
		if d.privateIPs {
			return 0.7
		}
		return 0
	}
	if a.Is6() && !globalV6.Contains(a) {
		return 0
	}
	return 0.9
}

// scanIPv4 finds dotted quads. Version strings ("version 1.2.3.4",
// "v10.0.1.2") and quads of single digits are numbering, not addresses.
func (s *scanner) scanIPv4() {
	if !s.d.enabled[IPAddress] {
		return
	}
	t := s.text
	for i := 0; i < len(t); {
		if !isDigit(t[i]) {
			i++
			continue
		}
		start := i
		dots := 0
		j := i
		for j < len(t) && (isDigit(t[j]) || t[j] == '.' && j+1 < len(t) && isDigit(t[j+1])) {
			if t[j] == '.' {
				dots++
			}
			j++
		}
		i = j
		if dots != 3 || j-start > 15 {
			continue
		}
		if start > 0 && (isAlnum(t[start-1]) || t[start-1] == '.' || t[start-1] == '_' || t[start-1] == '-') {
			continue
		}
		if j < len(t) && (isAlpha(t[j]) || t[j] == '_' || t[j] == '-' && j+1 < len(t) && isAlnum(t[j+1])) {
			continue
		}
		a, err := netip.ParseAddr(t[start:j])
		if err != nil {
			continue
		}
		score := s.d.ipScore(a)
		if score == 0 {
			continue
		}
		if j-start == 7 || near(t, start, j, 24, 0, ipVersionContext) {
			score = 0.3 // "1.2.3.4": every octet a single digit
		}
		s.add(start, j, IPAddress, score)
	}
}

// scanIPv6 finds colon-hex tokens around each ':' and parses them.
func (s *scanner) scanIPv6() {
	if !s.d.enabled[IPAddress] {
		return
	}
	t := s.text
	for off := 0; off < len(t); {
		k := strings.IndexByte(t[off:], ':')
		if k < 0 {
			return
		}
		c := off + k
		start := c
		for start > 0 && (isHex(t[start-1]) || t[start-1] == ':') && c-start < 40 {
			start--
		}
		end := c
		for end < len(t) && (isHex(t[end]) || t[end] == ':' || t[end] == '.' && end+1 < len(t) && isDigit(t[end+1])) && end-start < 45 {
			end++
		}
		off = max(end, c+1)
		if end-start < 6 || strings.Count(t[start:end], ":") < 2 {
			continue
		}
		if start > 0 && (isAlnum(t[start-1]) || t[start-1] == '_') || end < len(t) && (isAlnum(t[end]) || t[end] == '_') {
			continue
		}
		a, err := netip.ParseAddr(t[start:end])
		if err != nil || !a.Is6() {
			continue
		}
		if score := s.d.ipScore(a); score > 0 {
			s.add(start, end, IPAddress, score)
		}
	}
}
