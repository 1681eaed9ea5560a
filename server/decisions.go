package server

import (
	"slices"
	"time"

	"github.com/smbpipe/smbpipe/ntstatus"
	"github.com/smbpipe/smbpipe/policy"
)

// The decisions of the administrator's view (see admin.go): the last
// access decisions the server made, each kept with the request and the
// policy snapshot that decided it, so that Explain re-runs it with its
// trace.

// DecisionInfo is one access decision the server made: a pipe open or
// pipe wait (Message "pipe open", "pipe wait") or a refused logon
// (Message "session setup"), with the same facts as its audit record.
type DecisionInfo struct {
	// Seq numbers the decisions in the order they were made (from 1); it
	// names a decision for Explain while it is still recorded.
	Seq     uint64    `json:"seq"`
	Time    time.Time `json:"time"`
	Message string    `json:"message"`
	Client  string    `json:"client"`
	// Session is the SMB2 SessionId on the client's connection.
	Session uint64 `json:"session"`
	Kind    string `json:"kind"`
	User    string `json:"user"`
	Domain  string `json:"domain"`
	// Pipe, Desired (as sent) and Granted are empty for a logon.
	Pipe    string `json:"pipe,omitempty"`
	Desired uint32 `json:"desired"`
	Granted uint32 `json:"granted"`
	// Status is the NTSTATUS name sent to the client; Denied is true when
	// it is not STATUS_SUCCESS.
	Status string `json:"status"`
	Denied bool   `json:"denied"`
	// Rule and Reason are the deciding rule and its sentence, as in the
	// audit log.
	Rule   string `json:"rule"`
	Reason string `json:"reason"`
}

// maxDecisions bounds the decisions kept by the server.
const maxDecisions = 256

// decisionRing keeps the last maxDecisions decisions; written under
// adminState.mu. A record keeps the request and the snapshot that decided
// it, so that Explain re-runs the same decision with its trace.
type decisionRing struct {
	recs [maxDecisions]decisionRec
	seq  uint64 // decisions recorded so far; the last one is recs[(seq-1)%max]
}

type decisionRec struct {
	info DecisionInfo
	// For a pipe decision: the request and the snapshot it was decided
	// by; d is Check's decision (Why writes its reason when asked).
	req     policy.Request
	snap    *policy.Snapshot
	d       policy.Decision
	finalSt ntstatus.Status
}

// recordDecision adds a pipe decision, made by snap, to the ring. It does
// not allocate: the reason is written when the decision is listed.
func (c *conn) recordDecision(msg string, sessID uint64, snap *policy.Snapshot, req *policy.Request, d *policy.Decision, st ntstatus.Status) {
	a := &c.srv.admin
	a.mu.Lock()
	a.ring.seq++
	r := &a.ring.recs[(a.ring.seq-1)%maxDecisions]
	*r = decisionRec{
		info: DecisionInfo{
			Seq: a.ring.seq, Time: time.Now(), Message: msg, Client: c.remote, Session: sessID,
			Kind: kindName(req.Identity.Kind), User: req.Identity.User, Domain: req.Identity.Domain,
			Pipe: req.PipeName, Desired: req.DesiredAccess, Denied: st != ntstatus.Success,
		},
		req: *req, snap: snap, d: *d, finalSt: st,
	}
	a.mu.Unlock()
}

// recordSession adds a refused logon to the ring (successful ones are not
// access decisions an administrator looks for here).
func (c *conn) recordSession(sessID uint64, kind policy.Kind, user, domain string, st ntstatus.Status, rule, reason string) {
	if st == ntstatus.Success {
		return
	}
	a := &c.srv.admin
	a.mu.Lock()
	a.ring.seq++
	r := &a.ring.recs[(a.ring.seq-1)%maxDecisions]
	*r = decisionRec{
		info: DecisionInfo{
			Seq: a.ring.seq, Time: time.Now(), Message: "session setup", Client: c.remote, Session: sessID,
			Kind: kindName(kind), User: user, Domain: domain, Status: st.String(), Denied: true,
			Rule: rule, Reason: reason,
		},
		finalSt: st,
	}
	a.mu.Unlock()
}

// complete fills the fields of a pipe decision written when listed.
func (r *decisionRec) complete() DecisionInfo {
	info := r.info
	if r.snap == nil {
		return info
	}
	info.Status = r.finalSt.String()
	info.Rule, info.Granted = r.d.Rule, r.d.Granted
	if r.finalSt != r.d.Status {
		info.Granted = 0
		info.Rule, info.Reason = "open", "the pipe could not be opened: "+r.finalSt.String()
	} else {
		info.Reason = r.d.Why()
	}
	return info
}

// Decisions returns the recorded decisions (at most the last 256), the
// denials first, each group newest first.
func (s *Server) Decisions() []DecisionInfo {
	a := &s.admin
	a.mu.Lock()
	n := min(a.ring.seq, maxDecisions)
	recs := make([]decisionRec, 0, n)
	for i := uint64(0); i < n; i++ {
		recs = append(recs, a.ring.recs[(a.ring.seq-1-i)%maxDecisions])
	}
	a.mu.Unlock()
	out := make([]DecisionInfo, 0, len(recs))
	for i := range recs {
		out = append(out, recs[i].complete())
	}
	slices.SortStableFunc(out, func(x, y DecisionInfo) int {
		switch {
		case x.Denied == y.Denied:
			return 0
		case x.Denied:
			return -1
		}
		return 1
	})
	return out
}

// Explanation is a recorded decision decided again with its trace by
// policy.Snapshot.Decide (what `smbpipe explain` prints), against the
// snapshot that made it.
type Explanation struct {
	Decision DecisionInfo
	// Request is the pipe open as the client asked it; nil for a logon.
	Request *policy.Request
	// Explained is Decide's decision: Steps, Reason, Fixes. Zero for a
	// logon, whose Rule and Reason are all there is.
	Explained policy.Decision
	// Snapshot is the policy that made the decision (nil for a logon).
	Snapshot *policy.Snapshot
}

// Explain returns decision seq (DecisionInfo.Seq) explained, or false when
// it is no longer recorded.
func (s *Server) Explain(seq uint64) (Explanation, bool) {
	a := &s.admin
	a.mu.Lock()
	if seq == 0 || seq > a.ring.seq || a.ring.seq-seq >= maxDecisions {
		a.mu.Unlock()
		return Explanation{}, false
	}
	r := a.ring.recs[(seq-1)%maxDecisions]
	a.mu.Unlock()
	e := Explanation{Decision: r.complete()}
	if r.snap != nil {
		req := r.req
		e.Request = &req
		e.Snapshot = r.snap
		e.Explained = r.snap.Decide(req)
	}
	return e, true
}
