package api

import (
	_ "embed"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/lumbung-id/lumbung/service"
)

// OpenAPI is the OpenAPI 3.1 description of every endpoint; a test keeps
// it and the registered routes the same, and checks answers against it.
//
//go:embed openapi.json
var OpenAPI []byte

func (s *Server) openAPI(c echo.Context) error {
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, OpenAPI)
}

// A statement cursor is the journal id to continue before, opaque to
// clients (base64url of "j<id>").
func encodeIDCursor(id int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte("j" + strconv.FormatInt(id, 10)))
}

func decodeIDCursor(c string) (int64, error) {
	if c == "" {
		return 0, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err == nil {
		if v, ok := strings.CutPrefix(string(b), "j"); ok {
			if id, err := strconv.ParseInt(v, 10, 64); err == nil && id > 0 {
				return id, nil
			}
		}
	}
	return 0, &service.Error{Code: service.CodeInvalidRequest, Field: "cursor", Detail: "not a cursor this API gave"}
}
