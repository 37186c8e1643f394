package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/lumbung-id/lumbung/ussd/handset"
)

// cmdPhone is a terminal handset: it dials a running lumbung and shows each
// screen, reading the member's input line by line.
func cmdPhone(ctx context.Context, args []string, stdin io.Reader, stdout io.Writer) error {
	fs := flag.NewFlagSet("phone", flag.ContinueOnError)
	fs.SetOutput(stdout)
	url := fs.String("url", "http://127.0.0.1:8080", "base URL of the running lumbung")
	provider := fs.String("provider", "africastalking", "wire format to speak: africastalking, hubtel or freeflow")
	msisdn := fs.String("msisdn", "", "the phone number to call from, e.g. 081234567890")
	code := fs.String("code", "*123#", "the USSD service code to dial")
	token := fs.String("token", "", "LUMBUNG_CALLBACK_TOKEN of the server, if it has one")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *msisdn == "" {
		return errors.New("--msisdn is required (e.g. --msisdn 081234567890)")
	}
	switch *provider {
	case handset.ProviderAfricasTalking, handset.ProviderHubtel, handset.ProviderFreeflow:
	default:
		return fmt.Errorf("--provider %q: want africastalking, hubtel or freeflow", *provider)
	}
	p := handset.NewPhone(*url, *msisdn, *code)
	p.Provider = *provider
	p.Client = &http.Client{Timeout: 20 * time.Second}
	p.Token = *token
	fmt.Fprintf(stdout, "Dialling %s from %s …\n", *code, *msisdn)
	scr, err := p.Dial(ctx)
	in := bufio.NewScanner(stdin)
	f, isFile := stdin.(*os.File)
	interactive := isFile && term.IsTerminal(int(f.Fd()))
	for {
		if err != nil {
			return err
		}
		show(stdout, scr)
		if scr.End {
			return nil
		}
		fmt.Fprint(stdout, "> ")
		if !in.Scan() {
			fmt.Fprintln(stdout, "\n(hung up)")
			return in.Err()
		}
		if !interactive {
			fmt.Fprintln(stdout, in.Text()) // a piped script: show what was typed
		}
		scr, err = p.Send(ctx, strings.TrimSpace(in.Text()))
	}
}

func show(w io.Writer, s handset.Screen) {
	bar := strings.Repeat("─", 32)
	fmt.Fprintf(w, "┌%s\n", bar)
	for _, line := range strings.Split(s.Text, "\n") {
		fmt.Fprintf(w, "│ %s\n", line)
	}
	if s.End {
		fmt.Fprintf(w, "└%s (session ended)\n", bar)
	} else {
		fmt.Fprintf(w, "└%s\n", bar)
	}
}
