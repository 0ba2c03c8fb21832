// Command etcd runs the etcd server from the module graph of Kubernetes itself,
// so the test control plane needs no prebuilt binary and no second dependency set.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
