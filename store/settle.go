package store

import (
	"context"
	"fmt"
)

// settleOnce runs update, which moves one row into a final state (deleted,
// closed) and matches it only while it is not there yet. When it changed
// nothing, exists tells a row already settled (success: the call is safe
// to repeat) from a missing one (ErrNotFound). what names the operation in
// errors.
func (s *Store) settleOnce(ctx context.Context, what, update string, updateArgs []any, exists string, existsArgs []any) error {
	res, err := s.db.ExecContext(ctx, update, updateArgs...)
	if err != nil {
		return fmt.Errorf("store: %s: %w", what, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("store: %s: %w", what, err)
	}
	if n == 1 {
		return nil
	}
	var one int
	if err := s.db.QueryRowContext(ctx, exists, existsArgs...).Scan(&one); err != nil {
		return notFoundOr(err, what)
	}
	return nil
}
