package secrets

import "strings"

// Entity types. The pipeline maps them to actions through a policy's
// entities section, so they are stable like rule IDs.
const (
	EntityAWSAccessKey  = "AWS_ACCESS_KEY"
	EntityAWSBedrockKey = "AWS_BEDROCK_KEY"
	EntityGCPAPIKey     = "GCP_API_KEY"
	EntityAzureSecret   = "AZURE_SECRET"
	EntityGitHubToken   = "GITHUB_TOKEN"
	EntityGitLabToken   = "GITLAB_TOKEN"
	EntitySlackToken    = "SLACK_TOKEN"
	EntityStripeKey     = "STRIPE_KEY"
	EntityOpenAIKey     = "OPENAI_API_KEY"
	EntityAnthropicKey  = "ANTHROPIC_API_KEY"
	EntityHuggingFace   = "HUGGINGFACE_TOKEN"
	EntityJWT           = "JWT"
	EntityPrivateKey    = "PRIVATE_KEY"
	EntityPassword      = "PASSWORD"
	EntityGenericSecret = "GENERIC_SECRET"
	EntityServiceAPIKey = "API_KEY" // every other vendor's token
)

// entityPrefixes maps gitleaks rule IDs to entity types: the first entry whose
// key is the rule ID, or a prefix of it ending in "-", wins. README.md lists
// the same table.
var entityPrefixes = []struct{ prefix, entity string }{
	{"aws-amazon-bedrock-", EntityAWSBedrockKey},
	{"aws-", EntityAWSAccessKey},
	{"gcp-", EntityGCPAPIKey},
	{"azure-", EntityAzureSecret},
	{"github-", EntityGitHubToken},
	{"gitlab-", EntityGitLabToken},
	{"slack-", EntitySlackToken},
	{"stripe-", EntityStripeKey},
	{"openai-", EntityOpenAIKey},
	{"anthropic-", EntityAnthropicKey},
	{"huggingface-", EntityHuggingFace},
	{"jwt", EntityJWT},
	{"jwt-", EntityJWT},
	{"private-key", EntityPrivateKey},
	{"generic-", EntityGenericSecret},
	{"curl-auth-user", EntityPassword},
	{"curl-auth-header", EntityGenericSecret},
	{"hashicorp-tf-password", EntityPassword},
	{"planetscale-password", EntityPassword},
}

func entityFor(id string) string {
	for _, e := range entityPrefixes {
		if id == e.prefix || strings.HasSuffix(e.prefix, "-") && strings.HasPrefix(id, e.prefix) {
			return e.entity
		}
	}
	return EntityServiceAPIKey
}
