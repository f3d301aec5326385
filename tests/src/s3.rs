//! A real S3-compatible server for the storage tests: moto's standalone server (installed by
//! `tests/ensure-tools.sh` into `target/venv`), started per test on a free port and stopped
//! when dropped. It speaks the S3 HTTP protocol, signatures included; Amazon's own service
//! cannot run here.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct TestS3 {
    /// `http://127.0.0.1:PORT`
    pub endpoint: String,
    pub bucket: String,
    child: Child,
}

fn moto_server() -> PathBuf {
    std::env::var_os("SAMLING_TEST_MOTO_SERVER").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/venv/bin/moto_server"),
        PathBuf::from,
    )
}

impl TestS3 {
    /// Starts the server and creates an empty bucket.
    pub async fn start() -> TestS3 {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let program = moto_server();
        let child = Command::new(&program)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| {
                panic!(
                    "cannot start {} (run tests/ensure-tools.sh): {error}",
                    program.display()
                )
            });
        let s3 = TestS3 {
            endpoint: format!("http://127.0.0.1:{port}"),
            bucket: "samling-test".into(),
            child,
        };
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            // moto accepts any credentials; creating the bucket is also the readiness check.
            if let Ok(response) = client.put(s3.bucket_url("")).send().await
                && response.status().is_success()
            {
                return s3;
            }
            assert!(Instant::now() < deadline, "moto_server did not start on port {port}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn bucket_url(&self, key: &str) -> String {
        format!("{}/{}/{key}", self.endpoint, self.bucket)
    }

    /// The keys in the bucket.
    pub async fn keys(&self) -> Vec<String> {
        let listing = reqwest::get(format!("{}?list-type=2", self.bucket_url("")))
            .await
            .expect("a listing")
            .text()
            .await
            .expect("its body");
        listing
            .split("<Key>")
            .skip(1)
            .filter_map(|rest| rest.split("</Key>").next())
            .map(str::to_string)
            .collect()
    }

    /// An object's bytes, read straight from the bucket.
    pub async fn object(&self, key: &str) -> Vec<u8> {
        let response = reqwest::get(self.bucket_url(key)).await.expect("the object");
        assert!(response.status().is_success(), "{key}: {}", response.status());
        response.bytes().await.expect("its bytes").to_vec()
    }
}

impl Drop for TestS3 {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
