// A monitor outside the trust, built on Go's own transparency-log packages
// (golang.org/x/mod/sumdb/note and sumdb/tlog, the checksum database's client, as Debian
// ships them): it reads a trust's log as any monitor would, over HTTP, and checks it.
//
//	monitor <the log's URL, e.g. https://host/log/trust/1> <the trust's verifier key>
//
// It opens the checkpoint with the key, reads every tile the tree needs (each checked against
// the checkpoint's root by tlog.TileHashReader), reads every entry bundle, and proves each
// entry in the tree. It prints "ok <size>" and exits 0, or names what failed and exits 1.
package main

import (
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

const height = 8 // C2SP tlog-tiles: tiles of 256 hashes

func main() {
	if len(os.Args) != 3 {
		fail("usage: monitor <log url> <verifier key>")
	}
	base, vkey := strings.TrimSuffix(os.Args[1], "/"), os.Args[2]
	verifier, err := note.NewVerifier(vkey)
	check(err, "the verifier key")
	signed, err := note.Open(get(base+"/checkpoint"), note.VerifierList(verifier))
	check(err, "the checkpoint's signature")
	lines := strings.Split(signed.Text, "\n")
	if len(lines) < 3 {
		fail("the checkpoint has no size and root")
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	check(err, "the checkpoint's size")
	root, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(root) != tlog.HashSize {
		fail("the checkpoint's root is not a hash")
	}
	var hash tlog.Hash
	copy(hash[:], root)
	tree := tlog.Tree{N: size, Hash: hash}
	hashes := tlog.TileHashReader(tree, tiles{base})
	for first := int64(0); first < size; first += 1 << height {
		width := size - first
		if width > 1<<height {
			width = 1 << height
		}
		bundle := tlog.Tile{H: height, L: -1, N: first >> height, W: int(width)}
		data := get(base + "/" + c2sp(bundle.Path()))
		for i := int64(0); i < width; i++ {
			if len(data) < 2 {
				fail(fmt.Sprintf("entry bundle %d ends before entry %d", bundle.N, first+i))
			}
			n := int(data[0])<<8 | int(data[1])
			if len(data) < 2+n {
				fail(fmt.Sprintf("entry %d is cut short", first+i))
			}
			entry := data[2 : 2+n]
			data = data[2+n:]
			proof, err := tlog.ProveRecord(size, first+i, hashes)
			check(err, fmt.Sprintf("the proof of entry %d", first+i))
			check(tlog.CheckRecord(proof, size, hash, first+i, tlog.RecordHash(entry)),
				fmt.Sprintf("entry %d in the tree", first+i))
		}
		if len(data) != 0 {
			fail(fmt.Sprintf("entry bundle %d holds more than %d entries", bundle.N, width))
		}
	}
	fmt.Printf("ok %d\n", size)
}

// tiles reads a log's hash tiles from its C2SP tlog-tiles paths.
type tiles struct{ base string }

func (tiles) Height() int { return height }

func (t tiles) ReadTiles(wanted []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(wanted))
	for i, tile := range wanted {
		out[i] = get(t.base + "/" + c2sp(tile.Path()))
	}
	return out, nil
}

func (tiles) SaveTiles([]tlog.Tile, [][]byte) {}

// c2sp turns the checksum database's tile path (tile/8/L/N, tile/8/data/N) into the C2SP
// one (tile/L/N, tile/entries/N): the same index encoding, without the height.
func c2sp(path string) string {
	path = strings.TrimPrefix(path, "tile/8/")
	if strings.HasPrefix(path, "data/") {
		return "tile/entries/" + strings.TrimPrefix(path, "data/")
	}
	return "tile/" + path
}

func get(url string) []byte {
	response, err := http.Get(url)
	check(err, url)
	defer response.Body.Close()
	body, err := io.ReadAll(response.Body)
	check(err, url)
	if response.StatusCode != http.StatusOK {
		fail(fmt.Sprintf("%s: %d %s", url, response.StatusCode, strings.TrimSpace(string(body))))
	}
	return body
}

func check(err error, what string) {
	if err != nil {
		fail(fmt.Sprintf("%s: %v", what, err))
	}
}

func fail(why string) {
	fmt.Println(why)
	os.Exit(1)
}
