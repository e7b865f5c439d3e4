// Lints a Dockerfile offline with BuildKit's own checks (the ones `docker build --check` runs).
// Base images are not fetched: an empty linux/amd64 image config stands in for each of them.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/moby/buildkit/client/llb"
	"github.com/moby/buildkit/client/llb/sourceresolver"
	"github.com/moby/buildkit/frontend/dockerfile/dockerfile2llb"
	digest "github.com/opencontainers/go-digest"
)

type offlineResolver struct{}

func (offlineResolver) ResolveImageConfig(_ context.Context, ref string, _ sourceresolver.Opt) (string, digest.Digest, []byte, error) {
	config := []byte(`{"architecture":"amd64","os":"linux","config":{},"rootfs":{"type":"layers"}}`)
	return ref, digest.FromBytes(config), config, nil
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: dockerfile-check <Dockerfile>")
		os.Exit(2)
	}
	dt, err := os.ReadFile(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	sourceMap := llb.NewSourceMap(nil, os.Args[1], "Dockerfile", dt)
	sourceMap.Definition = &llb.Definition{}
	res, err := dockerfile2llb.DockerfileLint(context.Background(), dt, dockerfile2llb.ConvertOpt{
		SourceMap:    sourceMap,
		MetaResolver: offlineResolver{},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	for _, w := range res.Warnings {
		line := int32(0)
		if len(w.Location.Ranges) > 0 {
			line = w.Location.Ranges[0].Start.Line
		}
		fmt.Printf("%s:%d: %s: %s\n", os.Args[1], line, w.RuleName, w.Detail)
	}
	if res.Error != nil {
		fmt.Printf("%s: error: %s\n", os.Args[1], res.Error.Message)
		os.Exit(1)
	}
	if len(res.Warnings) > 0 {
		os.Exit(1)
	}
	fmt.Printf("%s: no findings\n", os.Args[1])
}
