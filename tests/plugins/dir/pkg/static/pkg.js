window.pkgLoaded = true;
