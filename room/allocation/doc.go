// Package allocation fits a subscriber's videos into its downlink's budget: the rungs each may take, and the per-video memory of trials, back-offs and pauses.
package allocation
