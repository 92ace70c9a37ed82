package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// connection is the JSON the database component keeps in Secrets Manager.
type connection struct {
	Host     string `json:"host"`
	Port     int    `json:"port"`
	DBName   string `json:"dbname"`
	Username string `json:"username"`
	Password string `json:"password"`
}

// dsnFromSecret turns the secret's JSON into a TLS-only connection URL.
func dsnFromSecret(secret string) (string, error) {
	var c connection
	if err := json.Unmarshal([]byte(secret), &c); err != nil {
		return "", fmt.Errorf("the database secret is not the connection JSON: %w", err)
	}
	if c.Host == "" || c.Username == "" || c.DBName == "" {
		return "", fmt.Errorf("the database secret lacks host, username or dbname")
	}
	if c.Port == 0 {
		c.Port = 5432
	}
	u := url.URL{Scheme: "postgres", User: url.UserPassword(c.Username, c.Password),
		Host: fmt.Sprintf("%s:%d", c.Host, c.Port), Path: "/" + c.DBName, RawQuery: "sslmode=require"}
	return u.String(), nil
}

// regionOf reads the region from a Secrets Manager ARN.
func regionOf(arn string) (string, error) {
	parts := strings.Split(arn, ":")
	if len(parts) < 7 || parts[0] != "arn" || parts[2] != "secretsmanager" || parts[3] == "" {
		return "", fmt.Errorf("DATABASE_SECRET_ARN %q is not a Secrets Manager secret ARN", arn)
	}
	return parts[3], nil
}

// fetchSecret reads a secret with the pod's credentials (EKS Pod Identity).
func fetchSecret(ctx context.Context, arn string) (string, error) {
	region, err := regionOf(arn)
	if err != nil {
		return "", err
	}
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion(region))
	if err != nil {
		return "", err
	}
	out, err := secretsmanager.NewFromConfig(cfg).GetSecretValue(ctx,
		&secretsmanager.GetSecretValueInput{SecretId: aws.String(arn)})
	if err != nil {
		return "", err
	}
	return aws.ToString(out.SecretString), nil
}
