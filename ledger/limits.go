package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

const maxUSSDAmountSQL = `SELECT max_ussd_amount FROM cooperatives WHERE id = ?`

// MaxUSSDAmount is the most one USSD transaction of the cooperative may
// move (cooperatives.max_ussd_amount): the menus refuse larger amounts as
// they are typed, and CreateDepositCode refuses them again.
func (l *Ledger) MaxUSSDAmount(ctx context.Context, coopID int64) (int64, error) {
	var limit int64
	err := l.db.GetContext(ctx, &limit, l.db.Rebind(maxUSSDAmountSQL), coopID)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("cooperative %d: %w", coopID, ErrNotFound)
	}
	if err != nil {
		return 0, fmt.Errorf("read the USSD limit of cooperative %d: %w", coopID, err)
	}
	return limit, nil
}

const coopTimezoneSQL = `SELECT timezone FROM cooperatives WHERE id = ?`

// Location is the cooperative's time zone (cooperatives.timezone, WITA by
// default), in which members see dates and times.
func (l *Ledger) Location(ctx context.Context, coopID int64) (*time.Location, error) {
	var tz string
	err := l.db.GetContext(ctx, &tz, l.db.Rebind(coopTimezoneSQL), coopID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("cooperative %d: %w", coopID, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read the time zone of cooperative %d: %w", coopID, err)
	}
	return coopLocation(tz)
}
